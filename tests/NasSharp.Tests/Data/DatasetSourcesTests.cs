using System.Text.RegularExpressions;
using NasSharp.Data;
using Xunit;

namespace NasSharp.Tests.Data;

/// <summary>The download catalogue agrees with the loaders' catalogue, and its entries are well formed.</summary>
public class DatasetSourcesTests
{
    [Fact]
    public void EveryLoadableDatasetCanBeDownloadedIntoTheFolderItsLoaderReads()
    {
        foreach (var entry in DatasetCatalog.Entries)
        {
            var source = DatasetSources.Get(entry.Name);
            Assert.All(source.Forms.SelectMany(f => f.Files), f => Assert.StartsWith(entry.Folder + "/", f.Path));
            // Every loadable dataset has a form with canonical addresses: a user needs no mirror for it.
            Assert.Contains(source.Forms, f => f.Downloadable);
        }
    }

    [Fact]
    public void EveryFileHasAnHttpAddressOrNoneAndASha256()
    {
        foreach (var file in DatasetSources.Default.SelectMany(d => d.Forms).SelectMany(f => f.Files))
        {
            Assert.Matches(new Regex("^[0-9a-f]{64}$"), file.Sha256);
            if (file.Url is { } url)
            {
                Assert.True(Uri.TryCreate(url, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https", url);
                Assert.EndsWith(Path.GetFileName(file.Path), url);
            }
            Assert.Equal(file.Gunzip, file.Size is null);
        }
    }
}
