using ScottPlot;

namespace NasSharp.Reports;

/// <summary>
/// The report's figures, drawn with ScottPlot. Every figure has a title and labelled axes (with units); it is saved
/// as a PNG large enough to read in a Markdown viewer (<see cref="SavePng"/>) or drawn as SVG text to embed in an
/// HTML page (<see cref="Svg"/>), both at <see cref="Width"/> × <see cref="Height"/>.
/// </summary>
public static class Plots
{
    public const int Width = 900;
    public const int Height = 600;

    public static void SavePng(Plot plot, string path)
    {
        ArgumentNullException.ThrowIfNull(plot);
        plot.SavePng(path, Width, Height);
    }

    public static string Svg(Plot plot)
    {
        ArgumentNullException.ThrowIfNull(plot);
        return plot.GetSvgXml(Width, Height);
    }

    /// <summary>
    /// Score against accuracy. When the finite scores are all positive and span more than two decades the
    /// score axis is log10 (ScottPlot plots log scales as log-transformed data with log-style tick labels).
    /// </summary>
    public static (Plot Plot, bool LogScale) Scatter(string title, string scoreLabel, string accuracyLabel,
        IReadOnlyList<double> scores, IReadOnlyList<double> accuracies)
    {
        if (scores.Count != accuracies.Count) throw new ArgumentException("Scores and accuracies need the same length.");
        var points = scores.Zip(accuracies).Where(p => double.IsFinite(p.First) && double.IsFinite(p.Second)).ToList();
        bool log = points.Count > 1 && points.All(p => p.First > 0) && points.Max(p => p.First) / points.Min(p => p.First) > 100;
        var plot = new Plot();
        var xs = points.Select(p => log ? Math.Log10(p.First) : p.First).ToArray();
        var ys = points.Select(p => p.Second).ToArray();
        var sc = plot.Add.ScatterPoints(xs, ys);
        sc.MarkerSize = 6;
        sc.Color = Colors.SteelBlue.WithAlpha(0.6);
        if (log)
        {
            plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic
            {
                LabelFormatter = v => $"1e{v:0.#}",
            };
        }
        plot.Title(title);
        plot.XLabel(log ? $"{scoreLabel} (log scale)" : scoreLabel);
        plot.YLabel(accuracyLabel);
        return (plot, log);
    }

    /// <summary>Grouped bars: one group per proxy, one bar per dataset (e.g. Kendall τ).</summary>
    public static Plot GroupedBars(string title, string valueLabel,
        IReadOnlyList<string> groups, IReadOnlyList<string> series, Func<string, string, double> value)
    {
        var plot = new Plot();
        var palette = new ScottPlot.Palettes.Category10();
        int k = series.Count;
        double barWidth = 0.8 / Math.Max(k, 1);
        for (int s = 0; s < k; s++)
        {
            var bars = new List<Bar>();
            for (int g = 0; g < groups.Count; g++)
            {
                var v = value(groups[g], series[s]);
                if (!double.IsFinite(v)) continue;
                bars.Add(new Bar { Position = g + (s - (k - 1) / 2.0) * barWidth, Value = v, Size = barWidth * 0.95, FillColor = palette.GetColor(s) });
            }
            var barPlot = plot.Add.Bars(bars);
            barPlot.LegendText = series[s];
        }
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(
            Enumerable.Range(0, groups.Count).Select(i => (double)i).ToArray(), groups.ToArray());
        plot.Axes.Bottom.TickLabelStyle.Rotation = -35;
        plot.Axes.Bottom.TickLabelStyle.Alignment = Alignment.UpperRight;
        plot.Axes.Bottom.MinimumSize = 90;
        plot.Add.HorizontalLine(0, 1, Colors.Black);
        // Outside the data area: inside, it hides the tallest bars.
        plot.ShowLegend(Edge.Right);
        plot.Title(title);
        plot.YLabel(valueLabel);
        return plot;
    }

    /// <summary>A search's scores in rank order (rank 1 = best score).</summary>
    public static Plot ScoreByRank(string title, string scoreLabel, IReadOnlyList<double> rankedScores)
    {
        var plot = new Plot();
        var xs = Enumerable.Range(1, rankedScores.Count).Select(i => (double)i).ToArray();
        var finite = rankedScores.Select((s, i) => (x: xs[i], s)).Where(p => double.IsFinite(p.s)).ToArray();
        var line = plot.Add.Scatter(finite.Select(p => p.x).ToArray(), finite.Select(p => p.s).ToArray());
        line.MarkerSize = 5;
        plot.Title(title);
        plot.XLabel("rank (1 = highest score)");
        plot.YLabel(scoreLabel);
        return plot;
    }

    /// <summary>
    /// Lines over a shared x axis; non-finite points are left out. <paramref name="right"/>'s lines, if any, go on a right
    /// axis of their own (e.g. a search's ν beside its trace norm, which would be flattened on ν's scale).
    /// </summary>
    public static Plot Lines(string title, string xLabel, string yLabel, IReadOnlyList<(string Name, IReadOnlyList<double> X, IReadOnlyList<double> Y)> series,
        (string Label, IReadOnlyList<(string Name, IReadOnlyList<double> X, IReadOnlyList<double> Y)> Series)? right = null)
    {
        var plot = new Plot();
        var palette = new ScottPlot.Palettes.Category10();
        int count = 0;
        foreach (var (name, x, y, onRight) in series.Select(s => (s.Name, s.X, s.Y, false))
                     .Concat((right?.Series ?? []).Select(s => (s.Name, s.X, s.Y, true))))
        {
            var points = x.Zip(y).Where(p => double.IsFinite(p.First) && double.IsFinite(p.Second)).ToArray();
            var line = plot.Add.Scatter(points.Select(p => p.First).ToArray(), points.Select(p => p.Second).ToArray(), palette.GetColor(count++));
            line.MarkerSize = 3;
            line.LegendText = name;
            if (onRight) line.Axes.YAxis = plot.Axes.Right;
        }
        if (count > 1) plot.ShowLegend(Edge.Right);
        plot.Title(title);
        plot.XLabel(xLabel);
        plot.YLabel(yLabel);
        if (right is { } r) plot.Axes.Right.Label.Text = r.Label;
        return plot;
    }

    /// <summary>
    /// One column of points per group (e.g. a method's accuracy per seed), spread sideways by a fixed offset so equal values
    /// stay visible, with the group's mean as a short black line; <paramref name="references"/> are thin coloured horizontal lines
    /// (e.g. a random architecture's mean, a published figure). They are solid: Skia's SVG canvas cannot draw a dashed
    /// legend entry (it prints a warning for each and draws it solid).
    /// </summary>
    public static Plot Strip(string title, string valueLabel, IReadOnlyList<(string Group, IReadOnlyList<double> Values)> groups,
        IReadOnlyList<(string Label, double Value)>? references = null)
    {
        var plot = new Plot();
        var lineColors = new ScottPlot.Palettes.Category10();
        foreach (var (label, value, i) in (references ?? []).Select((r, i) => (r.Label, r.Value, i)))
        {
            if (!double.IsFinite(value)) continue;
            var line = plot.Add.HorizontalLine(value, 1.5f, lineColors.GetColor(new[] { 7, 8, 9, 5, 4 }[i % 5]));
            line.LegendText = label;
        }
        if (references is { Count: > 0 }) plot.ShowLegend(Edge.Right);
        var palette = new ScottPlot.Palettes.Category10();
        for (int g = 0; g < groups.Count; g++)
        {
            var values = groups[g].Values.Where(double.IsFinite).ToArray();
            if (values.Length == 0) continue;
            var xs = values.Select((_, i) => g + (values.Length == 1 ? 0 : 0.3 * (i / (double)(values.Length - 1) - 0.5))).ToArray();
            var points = plot.Add.ScatterPoints(xs, values);
            points.MarkerSize = 7;
            points.Color = palette.GetColor(g);
            var mean = plot.Add.Line(g - 0.25, values.Average(), g + 0.25, values.Average());
            mean.Color = Colors.Black;
            mean.LineWidth = 2;
        }
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(
            Enumerable.Range(0, groups.Count).Select(i => (double)i).ToArray(), groups.Select(g => g.Group).ToArray());
        plot.Axes.Bottom.TickLabelStyle.Rotation = -35;
        plot.Axes.Bottom.TickLabelStyle.Alignment = Alignment.UpperRight;
        plot.Axes.Bottom.MinimumSize = 120;
        plot.Title(title);
        plot.YLabel(valueLabel);
        return plot;
    }
}
