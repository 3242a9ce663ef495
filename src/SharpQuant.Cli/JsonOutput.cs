using System.Text.Json;
using System.Text.Json.Serialization;

namespace SharpQuant.Cli;

/// <summary>One JSON style for every <c>--json</c> output: camelCase, indented, non-finite numbers as strings.</summary>
public static class JsonOutput
{
    public static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        WriteIndented = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public static string Serialize<T>(T value) => JsonSerializer.Serialize(value, Options);
}
