using System.Text.RegularExpressions;
using SharpQuant.Passes;
using SharpQuant.Plots.Report;
using SharpQuant.Tests.Support;

namespace SharpQuant.Tests.Report;

public class HtmlReportWriterTests
{
    private const string Hostile = "<script>alert('x')</script> & \"quoted\" <b>bold</b>";
    private static readonly byte[] PngSignature = [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];

    /// <summary>A real chart: stage2.block0.conv1's per-channel weight ranges before and after CLE on the default ResNet18.</summary>
    private static readonly Lazy<byte[]> Chart = new(() =>
    {
        var folded = TestModels.ResNet18().FoldBatchNorm();
        var equalized = folded.Equalize();
        return WeightRangeChart.Png("stage2.block0.conv1", [
            ChannelRanges.Of(folded, "stage2.block0.conv1", "without CLE"),
            ChannelRanges.Of(equalized, "stage2.block0.conv1", "with CLE"),
        ]);
    });

    private static ReportDocument EverythingDocument(IEnumerable<ReportSection>? sections = null) =>
        new(Hostile, Hostile, (sections ?? Sections()).ToList()) { Facts = [new(Hostile, Hostile)] };

    // One section per flow step, each with a different kind of block, all carrying text that must be escaped.
    private static IEnumerable<ReportSection> Sections() =>
        ReportFlow.Order.Select((id, i) => new ReportSection(id, $"{id} {Hostile}", (i % 6) switch
        {
            0 => [new ReportParagraph(Hostile), new ReportParagraph(Hostile, ParagraphTone.Warning)],
            1 => [new ReportKeyValues([new(Hostile, Hostile)])],
            2 => [new ReportTable(["a", Hostile], [["1", Hostile]]) { Caption = Hostile, NumericColumns = new HashSet<int> { 0 } }],
            3 => [new ReportPreformatted(Hostile)],
            4 => [new ReportDetails(Hostile, [new ReportPreformatted(Hostile)])],
            _ => [new ReportFigure(Chart.Value, Hostile)],
        }));

    [Fact]
    public void EscapesEveryPieceOfText()
    {
        var html = HtmlReportWriter.ToHtml(EverythingDocument());
        Assert.DoesNotContain("<script", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("<b>", html);
        // Title, subtitle, fact, 8 headings, 8 table-of-contents entries and every block's text: all escaped.
        var escaped = HtmlReportWriter.Escape(Hostile);
        Assert.Equal("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;quoted&quot; &lt;b&gt;bold&lt;/b&gt;", escaped);
        Assert.True(Regex.Matches(html, Regex.Escape(escaped)).Count >= 25, "every hostile string appears escaped");
    }

    [Fact]
    public void EmbedsImagesAsDataUrisThatDecodeToThePng()
    {
        var png = Chart.Value;
        Assert.Equal(PngSignature, png.Take(8));
        Assert.True(png.Length > 10_000, $"a real chart, not an empty image ({png.Length} bytes)");
        var html = HtmlReportWriter.ToHtml(EverythingDocument());
        var sources = Regex.Matches(html, "src=\"([^\"]*)\"").Select(m => m.Groups[1].Value).ToList();
        Assert.Single(sources);
        foreach (var src in sources)
        {
            Assert.StartsWith(HtmlReportWriter.PngDataUriPrefix, src);
            Assert.Equal(png, Convert.FromBase64String(src[HtmlReportWriter.PngDataUriPrefix.Length..]));
        }
    }

    [Fact]
    public void TheFileIsSelfContained()
    {
        var html = HtmlReportWriter.ToHtml(EverythingDocument());
        Assert.DoesNotContain("http://", html);
        Assert.DoesNotContain("https://", html);
        Assert.DoesNotContain("<link", html);
        Assert.DoesNotContain("<script", html);
        Assert.DoesNotContain("@import", html);
        Assert.DoesNotContain("url(", html);
        Assert.All(Regex.Matches(html, "src=\"([^\"]*)\"").Select(m => m.Groups[1].Value), s => Assert.StartsWith("data:", s));
        Assert.All(Regex.Matches(html, "href=\"([^\"]*)\"").Select(m => m.Groups[1].Value), h => Assert.StartsWith("#", h));
    }

    [Fact]
    public void SectionsAreInFlowOrderWithATableOfContents()
    {
        // Given shuffled, sorted into the order of the flow.
        var shuffled = Sections().Reverse().ToList();
        var html = HtmlReportWriter.ToHtml(EverythingDocument(ReportFlow.Sort(shuffled)));
        var ids = Regex.Matches(html, "<section id=\"([^\"]+)\">").Select(m => m.Groups[1].Value).ToList();
        Assert.Equal(ReportFlow.Order, ids);
        var links = Regex.Matches(html, "<li><a href=\"#([^\"]+)\">").Select(m => m.Groups[1].Value).ToList();
        Assert.Equal(ReportFlow.Order, links);
        // Headings are numbered in the same order.
        var numbers = Regex.Matches(html, "<h2><span class=\"number\">(\\d+)\\.</span>").Select(m => int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(Enumerable.Range(1, ReportFlow.Order.Count), numbers);
    }

    [Fact]
    public void UnknownSectionsKeepTheirPlaceAfterTheFlow()
    {
        var sorted = ReportFlow.Sort([new ReportSection("appendix", "Appendix", []), new ReportSection(ReportFlow.Evaluation, "Evaluation", []), new ReportSection(ReportFlow.Model, "Model", [])]);
        Assert.Equal(["model", "evaluation", "appendix"], sorted.Select(s => s.Id));
    }

    [Fact]
    public void ARowWithTheWrongNumberOfCellsIsRefused()
    {
        var document = new ReportDocument("t", "s", [new ReportSection("model", "Model", [new ReportTable(["a", "b"], [["only one"]])])]);
        var e = Assert.Throws<ArgumentException>(() => HtmlReportWriter.ToHtml(document));
        Assert.Contains("1 cells for 2 columns", e.Message);
    }

    [Fact]
    public void WritesAtomicallyAndLeavesNoTemporaryFile()
    {
        using var temp = TestData.NewTempFolder();
        var path = temp.File("sub/report.html");
        HtmlReportWriter.Write(EverythingDocument(), path);
        Assert.Equal(HtmlReportWriter.ToHtml(EverythingDocument()), File.ReadAllText(path));
        Assert.Single(Directory.GetFiles(Path.GetDirectoryName(path)!));
    }

    [Fact]
    public void NumbersHaveOneFormatPerKind()
    {
        Assert.Equal("0.99875", ReportNumbers.Cosine(0.998749));
        Assert.Equal("25.77", ReportNumbers.Decibels(25.7749));
        Assert.Equal("∞", ReportNumbers.Decibels(double.PositiveInfinity));
        Assert.Equal("1.234e-4", ReportNumbers.Scale(0.00012341));
        Assert.Equal("97.5 %", ReportNumbers.Percent(0.975));
        Assert.Equal("30.2", ReportNumbers.Ratio(30.24));
        Assert.Equal("11,689,512", ReportNumbers.Count(11_689_512));
        Assert.Equal("–", ReportNumbers.Cosine(double.NaN));
        Assert.Equal("712.9 ms", ReportNumbers.Duration(TimeSpan.FromMilliseconds(712.94)));
        Assert.Equal("1.5 s", ReportNumbers.Duration(TimeSpan.FromMilliseconds(1500)));
    }
}
