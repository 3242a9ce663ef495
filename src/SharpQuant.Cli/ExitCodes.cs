namespace SharpQuant.Cli;

/// <summary>The process exit codes of <c>sharpquant</c>.</summary>
public static class ExitCodes
{
    public const int Ok = 0;

    /// <summary>The command line itself is wrong (unknown option, missing argument).</summary>
    public const int Usage = 1;

    /// <summary>The input is bad: a missing or unreadable file, an invalid model, an unsupported op.</summary>
    public const int BadInput = 2;

    /// <summary>A bug in SharpQuant: something failed that should not have.</summary>
    public const int InternalError = 3;
}
