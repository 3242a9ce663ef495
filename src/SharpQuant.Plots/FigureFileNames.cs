using System.Text;

namespace SharpQuant.Plots;

/// <summary>File names from module names: dots and dashes stay, anything a file system might dislike becomes '_'.</summary>
public static class FigureFileNames
{
    public static string For(string moduleName, string suffix)
    {
        var name = new StringBuilder(moduleName.Length + suffix.Length + 4);
        foreach (var ch in moduleName)
        {
            name.Append(char.IsAsciiLetterOrDigit(ch) || ch is '.' or '-' or '_' ? ch : '_');
        }
        if (name.Length == 0 || name[0] == '.')
        {
            name.Insert(0, '_');
        }
        return name + suffix + ".png";
    }
}
