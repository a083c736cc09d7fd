using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace NasSharp.Networks;

/// <summary>
/// A small residual convolutional network for images (basic blocks of He et al. 2016, "Deep Residual Learning"):
/// stem conv3×3(C_in→w)–BN–ReLU; a block w→w; a block w→2w with stride 2 and a 1×1 conv–BN projection shortcut;
/// global average pooling; linear 2w→classes. Convolutions have no bias (BatchNorm's β plays that role).
/// With w = 36 on 3-channel inputs it has 98,254 parameters. Put it in eval mode for NTK work: in training mode
/// BatchNorm's batch statistics couple the samples.
/// </summary>
public sealed class ConvResNet : nn.Module<Tensor, Tensor>
{
    private readonly Conv2d stem;
    private readonly BatchNorm2d stemNorm;
    private readonly BasicBlock block1;
    private readonly BasicBlock block2;
    private readonly Linear readout;

    public ConvResNet(int inChannels, int classes, int width = 36, ScalarType dtype = ScalarType.Float32, Device? device = null)
        : base(nameof(ConvResNet))
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(inChannels, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(classes, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        stem = nn.Conv2d(inChannels, width, 3, padding: 1, bias: false, device: device, dtype: dtype);
        stemNorm = nn.BatchNorm2d(width, device: device, dtype: dtype);
        block1 = new BasicBlock(width, width, stride: 1, dtype, device);
        block2 = new BasicBlock(width, 2 * width, stride: 2, dtype, device);
        readout = nn.Linear(2 * width, classes, device: device, dtype: dtype);
        RegisterComponents();
        ConvolutionBackend.Protect(this);
    }

    public override Tensor forward(Tensor input)
    {
        if (input.dim() != 4)
            throw new ArgumentException($"ConvResNet expects images [N, C, H, W], got shape [{string.Join(",", input.shape)}].");
        using var scope = NewDisposeScope();
        // Submodules run through .call so that forward hooks (e.g. the fast empirical NTK's) see them.
        var h = nn.functional.relu(stemNorm.call(stem.call(input)));
        h = block2.call(block1.call(h));
        h = nn.functional.adaptive_avg_pool2d(h, 1).flatten(1);
        return readout.call(h).MoveToOuterDisposeScope();
    }

    /// <summary>relu(BN(conv3×3(relu(BN(conv3×3(x))))) + shortcut(x)), shortcut = identity or 1×1 conv–BN when the shape changes.</summary>
    public sealed class BasicBlock : nn.Module<Tensor, Tensor>
    {
        private readonly Conv2d conv1;
        private readonly BatchNorm2d norm1;
        private readonly Conv2d conv2;
        private readonly BatchNorm2d norm2;
        private readonly Sequential? shortcut;

        public BasicBlock(long inChannels, long outChannels, long stride, ScalarType dtype, Device? device = null) : base(nameof(BasicBlock))
        {
            conv1 = nn.Conv2d(inChannels, outChannels, 3, stride: stride, padding: 1, bias: false, device: device, dtype: dtype);
            norm1 = nn.BatchNorm2d(outChannels, device: device, dtype: dtype);
            conv2 = nn.Conv2d(outChannels, outChannels, 3, padding: 1, bias: false, device: device, dtype: dtype);
            norm2 = nn.BatchNorm2d(outChannels, device: device, dtype: dtype);
            if (stride != 1 || inChannels != outChannels)
                shortcut = nn.Sequential(
                    nn.Conv2d(inChannels, outChannels, 1, stride: stride, bias: false, device: device, dtype: dtype),
                    nn.BatchNorm2d(outChannels, device: device, dtype: dtype));
            RegisterComponents();
        }

        public override Tensor forward(Tensor x)
        {
            using var scope = NewDisposeScope();
            var h = nn.functional.relu(norm1.call(conv1.call(x)));
            h = norm2.call(conv2.call(h));
            var skip = shortcut is null ? x : shortcut.call(x);
            return nn.functional.relu(h + skip).MoveToOuterDisposeScope();
        }
    }
}
