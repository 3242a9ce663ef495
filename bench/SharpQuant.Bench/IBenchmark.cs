namespace SharpQuant.Bench;

/// <summary>One named end-to-end benchmark. It writes its own report and keeps no state between runs.</summary>
public interface IBenchmark
{
    /// <summary>The name given on the command line (lower case, no spaces).</summary>
    string Name { get; }

    /// <summary>One line saying what it measures.</summary>
    string Description { get; }

    /// <summary>Runs the benchmark and writes its report to <paramref name="output"/>.</summary>
    void Run(TextWriter output);
}
