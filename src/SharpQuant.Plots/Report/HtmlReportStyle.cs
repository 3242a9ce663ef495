namespace SharpQuant.Plots.Report;

/// <summary>
/// The report's stylesheet, inlined in the file (no external fonts or sheets): a single column readable on a laptop
/// screen, numbers in fixed-width digits, wide tables and preformatted blocks scroll sideways instead of widening the page.
/// </summary>
internal static class HtmlReportStyle
{
    public const string Css = """
        :root { --ink: #1d2330; --muted: #5b6475; --rule: #d9dde5; --band: #f4f6f9; --accent: #2457a6; --note: #eef4fc; --warn: #fdf3e1; --warn-edge: #d08a12; }
        * { box-sizing: border-box; }
        body { margin: 0; color: var(--ink); background: #fff; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; }
        .page { max-width: 1100px; margin: 0 auto; padding: 24px 32px 64px; }
        header h1 { margin: 0 0 4px; font-size: 28px; }
        header .subtitle { margin: 0 0 12px; color: var(--muted); font-size: 16px; }
        h2 { margin: 40px 0 12px; padding-bottom: 4px; border-bottom: 2px solid var(--rule); font-size: 22px; }
        h2 .number { color: var(--accent); margin-right: 6px; }
        p { margin: 8px 0; max-width: 80ch; }
        p.note { background: var(--note); border-left: 4px solid var(--accent); padding: 8px 12px; }
        p.warning { background: var(--warn); border-left: 4px solid var(--warn-edge); padding: 8px 12px; }
        nav.toc { background: var(--band); border: 1px solid var(--rule); border-radius: 6px; padding: 8px 20px; margin: 16px 0 8px; }
        nav.toc h2 { margin: 4px 0; border: 0; font-size: 16px; }
        nav.toc ol { margin: 4px 0 8px; padding-left: 22px; columns: 2; }
        nav.toc a { color: var(--accent); text-decoration: none; }
        nav.toc a:hover { text-decoration: underline; }
        .scroll { overflow-x: auto; margin: 8px 0 16px; }
        table { border-collapse: collapse; font-size: 14px; }
        th, td { padding: 4px 10px; border-bottom: 1px solid var(--rule); text-align: left; vertical-align: top; }
        th { background: var(--band); font-weight: 600; white-space: nowrap; }
        td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
        table.code td { font: 12.5px/1.4 ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; overflow-wrap: break-word; }
        table.code td:nth-child(-n+3) { white-space: nowrap; }
        table.facts th { background: none; color: var(--muted); font-weight: normal; }
        table.facts td { font-variant-numeric: tabular-nums; }
        tbody tr:nth-child(even) td { background: #fafbfc; }
        caption { caption-side: bottom; text-align: left; color: var(--muted); font-size: 13px; padding-top: 4px; }
        pre { background: var(--band); border: 1px solid var(--rule); border-radius: 4px; padding: 8px 12px; font: 12.5px/1.4 ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; overflow-x: auto; white-space: pre; margin: 8px 0; }
        details { margin: 8px 0 16px; border: 1px solid var(--rule); border-radius: 6px; padding: 4px 12px; }
        details > summary { cursor: pointer; color: var(--accent); font-weight: 600; padding: 4px 0; }
        details[open] > summary { margin-bottom: 4px; }
        figure { margin: 16px 0; }
        figure img { max-width: 100%; height: auto; border: 1px solid var(--rule); }
        figcaption { color: var(--muted); font-size: 13px; margin-top: 4px; max-width: 80ch; }
        footer { margin-top: 48px; color: var(--muted); font-size: 13px; }
        @media print { details { border: 0; } nav.toc { display: none; } }
        """;
}
