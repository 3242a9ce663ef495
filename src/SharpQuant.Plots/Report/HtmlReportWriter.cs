using System.Text;
using SharpQuant.IO;

namespace SharpQuant.Plots.Report;

/// <summary>
/// Renders a <see cref="ReportDocument"/> as one self-contained HTML file: the stylesheet inline, every figure a
/// base64 <c>data:</c> URI, no scripts and no reference to any other file or address, so the file can be mailed,
/// archived or opened offline. Every piece of text is HTML-escaped. Sections are numbered in the order given, with a
/// table of contents linking to them.
/// </summary>
public static class HtmlReportWriter
{
    /// <summary>The prefix of every embedded image's <c>src</c>.</summary>
    public const string PngDataUriPrefix = "data:image/png;base64,";

    /// <summary>Writes the report through a temporary file moved into place (a failure leaves no half-written report).</summary>
    public static void Write(ReportDocument document, string path) => AtomicFile.WriteAllText(path, ToHtml(document));

    public static string ToHtml(ReportDocument document)
    {
        var html = new StringBuilder();
        html.Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
        html.Append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
        html.Append("<meta name=\"generator\" content=\"SharpQuant\">\n");
        html.Append("<title>").Append(Escape(document.Title)).Append("</title>\n");
        html.Append("<style>\n").Append(HtmlReportStyle.Css).Append("\n</style>\n</head>\n<body>\n<div class=\"page\">\n");

        html.Append("<header>\n<h1>").Append(Escape(document.Title)).Append("</h1>\n");
        html.Append("<p class=\"subtitle\">").Append(Escape(document.Subtitle)).Append("</p>\n");
        if (document.Facts.Count > 0)
        {
            AppendKeyValues(html, document.Facts);
        }
        html.Append("</header>\n");

        html.Append("<nav class=\"toc\">\n<h2>Contents</h2>\n<ol>\n");
        foreach (var section in document.Sections)
        {
            html.Append("<li><a href=\"#").Append(Escape(section.Id)).Append("\">").Append(Escape(section.Heading)).Append("</a></li>\n");
        }
        html.Append("</ol>\n</nav>\n<main>\n");

        var number = 0;
        foreach (var section in document.Sections)
        {
            number++;
            html.Append("<section id=\"").Append(Escape(section.Id)).Append("\">\n");
            html.Append("<h2><span class=\"number\">").Append(number).Append(".</span>").Append(Escape(section.Heading)).Append("</h2>\n");
            foreach (var block in section.Blocks)
            {
                AppendBlock(html, block);
            }
            html.Append("</section>\n");
        }
        html.Append("</main>\n<footer>Written by SharpQuant. This file is self-contained: its figures are embedded and it loads nothing else.</footer>\n");
        html.Append("</div>\n</body>\n</html>\n");
        return html.ToString();
    }

    /// <summary>Escapes text for element content and quoted attribute values.</summary>
    public static string Escape(string text)
    {
        var sb = new StringBuilder(text.Length);
        foreach (var ch in text)
        {
            sb.Append(ch switch
            {
                '&' => "&amp;",
                '<' => "&lt;",
                '>' => "&gt;",
                '"' => "&quot;",
                '\'' => "&#39;",
                _ => ch.ToString(),
            });
        }
        return sb.ToString();
    }

    private static void AppendBlock(StringBuilder html, ReportBlock block)
    {
        switch (block)
        {
            case ReportParagraph p:
                var tone = p.Tone switch { ParagraphTone.Note => " class=\"note\"", ParagraphTone.Warning => " class=\"warning\"", _ => "" };
                html.Append("<p").Append(tone).Append('>').Append(Escape(p.Text)).Append("</p>\n");
                break;
            case ReportKeyValues kv:
                AppendKeyValues(html, kv.Rows);
                break;
            case ReportTable t:
                AppendTable(html, t);
                break;
            case ReportPreformatted pre:
                html.Append("<pre>").Append(Escape(pre.Text.TrimEnd())).Append("</pre>\n");
                break;
            case ReportDetails d:
                html.Append(d.Open ? "<details open>\n" : "<details>\n");
                html.Append("<summary>").Append(Escape(d.Summary)).Append("</summary>\n");
                foreach (var inner in d.Blocks)
                {
                    AppendBlock(html, inner);
                }
                html.Append("</details>\n");
                break;
            case ReportFigure f:
                html.Append("<figure>\n<img alt=\"").Append(Escape(f.Caption)).Append("\" src=\"")
                    .Append(PngDataUriPrefix).Append(Convert.ToBase64String(f.Png)).Append("\">\n");
                html.Append("<figcaption>").Append(Escape(f.Caption)).Append("</figcaption>\n</figure>\n");
                break;
            default:
                throw new ArgumentException($"no HTML for report block {block.GetType().Name}", nameof(block));
        }
    }

    private static void AppendKeyValues(StringBuilder html, IReadOnlyList<KeyValuePair<string, string>> rows)
    {
        html.Append("<div class=\"scroll\"><table class=\"facts\">\n");
        foreach (var (key, value) in rows)
        {
            html.Append("<tr><th scope=\"row\">").Append(Escape(key)).Append("</th><td>").Append(Escape(value)).Append("</td></tr>\n");
        }
        html.Append("</table></div>\n");
    }

    private static void AppendTable(StringBuilder html, ReportTable table)
    {
        html.Append(table.Monospace ? "<div class=\"scroll\"><table class=\"code\">\n" : "<div class=\"scroll\"><table>\n");
        if (table.Caption is { } caption)
        {
            html.Append("<caption>").Append(Escape(caption)).Append("</caption>\n");
        }
        html.Append("<thead><tr>");
        for (var c = 0; c < table.Columns.Count; c++)
        {
            html.Append(table.NumericColumns.Contains(c) ? "<th class=\"num\">" : "<th>").Append(Escape(table.Columns[c])).Append("</th>");
        }
        html.Append("</tr></thead>\n<tbody>\n");
        foreach (var row in table.Rows)
        {
            if (row.Count != table.Columns.Count)
            {
                throw new ArgumentException($"a report table row has {row.Count} cells for {table.Columns.Count} columns ({string.Join(", ", table.Columns)})", nameof(table));
            }
            html.Append("<tr>");
            for (var c = 0; c < row.Count; c++)
            {
                html.Append(table.NumericColumns.Contains(c) ? "<td class=\"num\">" : "<td>").Append(Escape(row[c])).Append("</td>");
            }
            html.Append("</tr>\n");
        }
        html.Append("</tbody>\n</table></div>\n");
    }
}
