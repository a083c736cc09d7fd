namespace NasSharp.Kernels;

/// <summary>
/// The network cannot be handled by <see cref="NtkMethod.Fast"/>: a trainable parameter sits in a layer type it has
/// no rule for, samples are coupled (BatchNorm with batch statistics), or a parameter is used where its layer's
/// forward hook cannot see it. Thrown before any result is produced; <see cref="NtkMethod.Exact"/> handles such
/// networks (and <see cref="NtkMethod.Auto"/> falls back to it).
/// </summary>
public sealed class FastNtkNotSupportedException(string message) : NotSupportedException(message);
