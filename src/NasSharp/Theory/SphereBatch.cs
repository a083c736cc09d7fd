using NasSharp.Data;
using NasSharp.Kernels;
using TorchSharp;

namespace NasSharp.Theory;

/// <summary>
/// N inputs projected onto the sphere ‖x‖² = d (mean squared feature 1), with their labels. On the sphere every
/// input has the same pre-activation variance in every layer, the analytic NTK is a dot-product kernel of
/// G = XXᵀ/d (diag G = 1), and the bounds of <see cref="LambdaMinBounds"/> apply; it is also the normalisation the
/// NTK eigenvalue literature assumes (‖x‖ = 1 with Σ⁰ = xᵀx'; here the first layer divides by d).
/// </summary>
public sealed class SphereBatch
{
    private readonly double[] inputs;
    private readonly double[] gram;
    private readonly Dictionary<int, double> hadamardMinEigenvalues = [];

    /// <param name="inputs">N × d row-major; every row must be non-zero and finite.</param>
    /// <param name="labels">Class of each input, in 0..classes−1.</param>
    public SphereBatch(double[] inputs, int count, int[] labels, int classes)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(labels);
        if (count < 2) throw new ArgumentOutOfRangeException(nameof(count), count, "λ_min and its bounds need at least 2 inputs.");
        if (inputs.Length == 0 || inputs.Length % count != 0)
            throw new ArgumentException($"{inputs.Length} input values do not split into {count} inputs of equal dimension.", nameof(inputs));
        if (labels.Length != count) throw new ArgumentException($"{labels.Length} labels for {count} inputs.", nameof(labels));
        if (classes < 1) throw new ArgumentOutOfRangeException(nameof(classes), classes, "Need at least one class.");
        foreach (var y in labels)
            if (y < 0 || y >= classes) throw new ArgumentException($"Label {y} outside 0..{classes - 1}.", nameof(labels));
        Count = count;
        Dimension = inputs.Length / count;
        Labels = labels;
        Classes = classes;
        this.inputs = Project(inputs, count);
        gram = AnalyticNtk.InputGram(this.inputs, count);
    }

    /// <summary>The labelled samples of a dataset (flattened), projected onto the sphere.</summary>
    public static SphereBatch From(LabeledDataset data)
    {
        ArgumentNullException.ThrowIfNull(data);
        return new SphereBatch(data.Features.Select(v => (double)v).ToArray(), data.Count, data.Labels, data.NumClasses);
    }

    public int Count { get; }
    public int Dimension { get; }
    public int[] Labels { get; }
    public int Classes { get; }

    /// <summary>The projected inputs √d x/‖x‖, N × d row-major.</summary>
    public double[] Inputs => (double[])inputs.Clone();

    /// <summary>G = XXᵀ/d of the projected inputs: a correlation matrix (unit diagonal).</summary>
    public double[] Gram => (double[])gram.Clone();

    /// <summary>t* = max_{i≠j} G_ij, the cosine similarity of the two most similar inputs.</summary>
    public double MaxCorrelation
    {
        get
        {
            double max = double.NegativeInfinity;
            for (int i = 0; i < Count; i++)
                for (int j = i + 1; j < Count; j++) max = Math.Max(max, gram[i * Count + j]);
            return max;
        }
    }

    /// <summary>λ_min(G^{∘s}) of the entrywise power, float64 (cached).</summary>
    public double HadamardPowerMinEigenvalue(int s)
    {
        if (s < 0) throw new ArgumentOutOfRangeException(nameof(s), s, "The power must be non-negative.");
        lock (hadamardMinEigenvalues)
        {
            if (hadamardMinEigenvalues.TryGetValue(s, out var cached)) return cached;
            using var scope = torch.NewDisposeScope();
            var g = torch.tensor(gram, new long[] { Count, Count }, dtype: torch.ScalarType.Float64);
            double value = torch.linalg.eigvalsh(g.pow(s)).min().item<double>();
            hadamardMinEigenvalues[s] = value;
            return value;
        }
    }

    /// <summary>x ↦ √d x/‖x‖ for every row.</summary>
    public static double[] Project(double[] inputs, int count)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        int d = inputs.Length / count;
        var p = new double[inputs.Length];
        for (int i = 0; i < count; i++)
        {
            double norm2 = 0;
            for (int j = 0; j < d; j++)
            {
                double v = inputs[i * d + j];
                if (!double.IsFinite(v)) throw new ArgumentException($"Input {i} has a non-finite feature.", nameof(inputs));
                norm2 += v * v;
            }
            if (!(norm2 > 0)) throw new ArgumentException($"Input {i} is zero and has no direction to project onto the sphere.", nameof(inputs));
            double scale = Math.Sqrt(d / norm2);
            for (int j = 0; j < d; j++) p[i * d + j] = inputs[i * d + j] * scale;
        }
        return p;
    }
}
