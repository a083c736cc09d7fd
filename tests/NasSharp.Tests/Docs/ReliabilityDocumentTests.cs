using System.Reflection;
using System.Text.RegularExpressions;
using NasSharp.Tests.Cli;
using Xunit;

namespace NasSharp.Tests.Docs;

/// <summary>
/// docs/reliability.md's table of faults names the tests that plant them, and <c>dotnet test --filter Category=Reliability</c>
/// runs exactly those: every test named there exists and carries the trait, and every test with the trait is named there.
/// </summary>
public class ReliabilityDocumentTests
{
    private static readonly Type[] TestTypes = [.. typeof(ReliabilityDocumentTests).Assembly.GetTypes().Where(t => t.IsClass && t.IsPublic)];

    private static bool IsTest(MethodInfo m) => m.GetCustomAttributes<FactAttribute>().Any(); // a theory is a fact too

    private static bool IsReliability(MemberInfo member) => member.GetCustomAttributesData().Any(a =>
        a.AttributeType == typeof(TraitAttribute) && a.ConstructorArguments is [{ Value: "Category" }, { Value: "Reliability" }]);

    private static HashSet<string> Named()
    {
        var text = File.ReadAllText(Path.Combine(Repository.Root, "docs", "reliability.md"));
        var table = text[text.IndexOf("## Faults tested", StringComparison.Ordinal)..text.IndexOf("## Running these tests", StringComparison.Ordinal)];
        return [.. Regex.Matches(table, @"`(\w+)\.(\w+)`").Select(m => m.Groups[1].Value + "." + m.Groups[2].Value)];
    }

    [Fact]
    public void EveryTestTheTableNamesExistsAndCarriesTheTrait()
    {
        var named = Named();
        Assert.True(named.Count >= 40, $"{named.Count} tests named");
        foreach (var name in named)
        {
            var (typeName, methodName) = (name.Split('.')[0], name.Split('.')[1]);
            var type = Assert.Single(TestTypes, t => t.Name == typeName);
            var method = type.GetMethod(methodName);
            Assert.True(method is not null && IsTest(method), $"docs/reliability.md names {name}, which is not a test");
            Assert.True(IsReliability(method) || IsReliability(type), $"{name} is named in docs/reliability.md but has no Category=Reliability trait");
        }
    }

    [Fact]
    public void EveryTestWithTheTraitIsNamedInTheTable()
    {
        var named = Named();
        var tagged = TestTypes.SelectMany(t => t.GetMethods().Where(IsTest).Where(m => IsReliability(m) || IsReliability(t)).Select(m => $"{t.Name}.{m.Name}")).ToList();
        Assert.NotEmpty(tagged);
        Assert.All(tagged, name => Assert.True(named.Contains(name), $"{name} runs with Category=Reliability but docs/reliability.md does not name it"));
    }
}
