namespace SharpQuant.Tests.Support;

/// <summary>Runs code that must not block (opening a FIFO would), failing the test instead of hanging the run.</summary>
public static class NoHang
{
    public static readonly TimeSpan Limit = TimeSpan.FromSeconds(20);

    public static T Run<T>(Func<T> body)
    {
        var task = Task.Run(body);
        Assert.True(task.Wait(Limit), $"still running after {Limit.TotalSeconds} s: it blocks");
        return task.Result;
    }

    /// <summary>The exception the body throws, within the limit.</summary>
    public static TException Throws<TException>(Action body) where TException : Exception =>
        Run(() => Assert.Throws<TException>(body));
}
