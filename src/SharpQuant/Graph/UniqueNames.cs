namespace SharpQuant;

/// <summary>
/// Hands out distinct names: the first claim of a name gets it as is, later claims get <c>name_1</c>, <c>name_2</c>, ...
/// The next suffix is remembered per name, so 50,000 nodes of one name cost linear time, not a scan from _1 each.
/// </summary>
internal sealed class UniqueNames
{
    private readonly HashSet<string> _used = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _nextSuffix = new(StringComparer.Ordinal);

    public string Claim(string name)
    {
        if (_used.Add(name))
        {
            return name;
        }
        var i = _nextSuffix.GetValueOrDefault(name, 1);
        string candidate;
        do
        {
            candidate = $"{name}_{i++}";
        }
        while (!_used.Add(candidate));
        _nextSuffix[name] = i;
        return candidate;
    }
}
