namespace SharpQuant;

/// <summary>
/// Base of every error SharpQuant raises on purpose; the CLI turns these into one line. Messages quote names from
/// the input, so their control characters (a newline in a node name) are escaped here: a message is always one line.
/// </summary>
public class SharpQuantException : Exception
{
    public SharpQuantException(string message) : base(IO.TerminalText.Escape(message)) { }
    public SharpQuantException(string message, Exception inner) : base(IO.TerminalText.Escape(message), inner) { }
}

/// <summary>The file is not a readable ONNX model (not protobuf, truncated, inconsistent).</summary>
public sealed class InvalidModelException : SharpQuantException
{
    public InvalidModelException(string message) : base(message) { }
    public InvalidModelException(string message, Exception inner) : base(message, inner) { }
}

/// <summary>The graph breaks an IR invariant: a cycle, a use of an undefined value, a double assignment.</summary>
public sealed class GraphValidationException : SharpQuantException
{
    public GraphValidationException(string message) : base(message) { }
}

/// <summary>An operation meets an op it has no rule for. Names the op and the node.</summary>
public sealed class UnsupportedOpException : SharpQuantException
{
    public UnsupportedOpException(string opType, string nodeName, string context)
        : base($"{context}: unsupported op '{opType}' at node '{nodeName}'")
    {
        OpType = opType;
        NodeName = nodeName;
    }

    public string OpType { get; }
    public string NodeName { get; }
}

/// <summary>An external-data reference that is absolute, escapes the model folder, or is missing.</summary>
public sealed class ExternalDataException : SharpQuantException
{
    public ExternalDataException(string message) : base(message) { }
}
