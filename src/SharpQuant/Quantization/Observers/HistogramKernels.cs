using System.Collections.Immutable;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SharpQuant.Quantization.Observers;

/// <summary>
/// The hot loops of <see cref="StreamingHistogram"/>. Each value's bin is floor(x / w) + z clamped to
/// [0, last]: computed in float (double measured 2–3 times slower, and float's 24-bit mantissa still places each
/// value to about 1e-4 of a bin, |x / w| &lt; 2^11 bins); flooring x / w before adding the zero bin keeps every
/// value's sign exact. Every path gives the same index as <see cref="BinOf"/> (same float multiply, floor, integer
/// conversion of an integral value), which the tests check value by value.
/// <para>
/// The counting loops add each value's bin to <see cref="Lanes"/> interleaved copies of the counts (lane l at
/// l·bins) and return the span's extremes, so a batch is read once. Post-ReLU activations are about a third exact
/// zeros, all landing in one bin; with a single array every such increment waits for the previous one's store,
/// while independent lanes let the core overlap them.
/// </para>
/// <para>
/// The loops are compiled fully optimized from the first call (AggressiveOptimization): a calibration calls them
/// only a few hundred times, and the first, unoptimized tier of the JIT runs them several times slower.
/// </para>
/// </summary>
/// <summary>The counting loops of <see cref="HistogramKernels"/>.</summary>
internal enum CountingLoop
{
    Portable,
    Avx2,
    Avx512,
}

internal static class HistogramKernels
{
    /// <summary>Interleaved copies of the counts the loops increment.</summary>
    public const int Lanes = 4;

    /// <summary>Values whose bin indices are computed at a time: small enough for the stack and the L1 cache.</summary>
    private const int ChunkLength = 1024;

    /// <summary>
    /// For each 8-bit mask, the positions of its clear bits in ascending order, one per byte: the shuffle that moves
    /// the lanes of a 256-bit vector whose mask bit is clear to the front (a "left pack", which AVX2 lacks).
    /// </summary>
    private static readonly ImmutableArray<ulong> LeftPack = BuildLeftPack();

    /// <summary>The scalar formula every path must agree with.</summary>
    public static int BinOf(float x, float inverseWidth, int zeroBin, int last) =>
        Math.Clamp((int)MathF.Floor(x * inverseWidth) + zeroBin, 0, last);

    /// <summary>Whether <see cref="CountPackingZeroBin"/> can run on this machine.</summary>
    public static bool CanPackZeroBin => Avx2.IsSupported;

    /// <summary>Whether <see cref="CountCompressingZeroBin"/> can run on this machine (AVX-512, used at full width).</summary>
    public static bool CanCompressZeroBin => Avx512F.IsSupported && Vector512.IsHardwareAccelerated;

    /// <summary>The fastest counting loop this machine runs.</summary>
    public static CountingLoop Fastest =>
        CanCompressZeroBin ? CountingLoop.Avx512 : CanPackZeroBin ? CountingLoop.Avx2 : CountingLoop.Portable;

    /// <summary>Whether this machine can run <paramref name="loop"/>.</summary>
    public static bool Supports(CountingLoop loop) => loop switch
    {
        CountingLoop.Avx512 => CanCompressZeroBin,
        CountingLoop.Avx2 => CanPackZeroBin,
        _ => true,
    };

    /// <summary>Counts with the given loop (one this machine supports) and returns the span's extremes.</summary>
    public static (float Min, float Max) Count(CountingLoop loop, ReadOnlySpan<float> values, float inverseWidth, int zeroBin, int last, Span<int> lanes) => loop switch
    {
        CountingLoop.Avx512 => CountCompressingZeroBin(values, inverseWidth, zeroBin, last, lanes),
        CountingLoop.Avx2 => CountPackingZeroBin(values, inverseWidth, zeroBin, last, lanes),
        _ => CountPortable(values, inverseWidth, zeroBin, last, lanes),
    };

    /// <summary>floor(x / w) + z clamped to [0, last] for every value of a span, with SIMD where the machine has it.</summary>
    public static void BinIndices(ReadOnlySpan<float> values, float inverseWidth, int zeroBin, int last, Span<int> indices)
    {
        BinIndices(values, inverseWidth, zeroBin, last, indices, new Vector<float>(float.PositiveInfinity), new Vector<float>(float.NegativeInfinity));
    }

    /// <summary>
    /// The portable counting loop: each chunk's bin indices with <see cref="Vector{T}"/>, then one increment per
    /// value spread over the lanes.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static (float Min, float Max) CountPortable(ReadOnlySpan<float> values, float inverseWidth, int zeroBin, int last, Span<int> lanes)
    {
        var bins = last + 1;
        var lo = new Vector<float>(float.PositiveInfinity);
        var hi = new Vector<float>(float.NegativeInfinity);
        Span<int> indices = stackalloc int[ChunkLength];
        for (var start = 0; start < values.Length; start += ChunkLength)
        {
            var chunk = values.Slice(start, Math.Min(ChunkLength, values.Length - start));
            var index = indices[..chunk.Length];
            (lo, hi) = BinIndices(chunk, inverseWidth, zeroBin, last, index, lo, hi);
            Increment(index, lanes, bins);
        }
        // Every chunk but the last is whole vectors (ChunkLength is a multiple of any vector width), so only the
        // values after the last whole vector reached the indices without passing through the vector extremes.
        var (min, max) = ChannelExtremes.Reduce(lo, hi);
        var vectorized = Vector.IsHardwareAccelerated ? values.Length - (values.Length % Vector<float>.Count) : 0;
        foreach (var x in values[vectorized..])
        {
            min = Math.Min(min, x);
            max = Math.Max(max, x);
        }
        return (min, max);
    }

    /// <summary>
    /// The AVX2 counting loop. Values in the zero bin (the exact zeros of post-ReLU data and anything within one bin
    /// above 0) are only counted, with vector compares; the indices of the others are packed to the front of each
    /// vector and stored contiguously, so the increment loop only sees those. That removes the third of all
    /// increments that all hit one counter, the slowest ones.
    /// </summary>
    public static (float Min, float Max) CountPackingZeroBin(ReadOnlySpan<float> values, float inverseWidth, int zeroBin, int last, Span<int> lanes) =>
        CountSkippingZeroBin<Avx2Packer, Extremes256>(values, inverseWidth, zeroBin, last, lanes);

    /// <summary>
    /// The AVX-512 form of <see cref="CountPackingZeroBin"/>: 16 values a step, the zero bin counted from a compare
    /// mask and the other indices packed with the register form of VPCOMPRESSD (its memory form is microcoded and
    /// slow on AMD's Zen 4) instead of the AVX2 loop's table lookup and permute.
    /// </summary>
    public static (float Min, float Max) CountCompressingZeroBin(ReadOnlySpan<float> values, float inverseWidth, int zeroBin, int last, Span<int> lanes) =>
        CountSkippingZeroBin<Avx512Packer, Extremes512>(values, inverseWidth, zeroBin, last, lanes);

    /// <summary>
    /// The counting loop that keeps zero-bin values out of the increments, over chunks that <typeparamref name="TPacker"/>
    /// turns into packed indices; a struct type argument, so the JIT compiles one loop per packer with the call inlined.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static (float Min, float Max) CountSkippingZeroBin<TPacker, TExtremes>(ReadOnlySpan<float> values, float inverseWidth, int zeroBin, int last, Span<int> lanes)
        where TPacker : struct, IZeroBinPacker<TExtremes>
        where TExtremes : struct
    {
        var bins = last + 1;
        var extremes = TPacker.Start();
        // Room for one whole vector past the packed indices: each store writes a whole vector, of which the kept lanes count.
        Span<int> indices = stackalloc int[ChunkLength + TPacker.Width];
        var vectorized = values.Length - (values.Length % TPacker.Width);
        long inZeroBin = 0;
        for (var start = 0; start < vectorized; start += ChunkLength)
        {
            var chunk = values[start..Math.Min(vectorized, start + ChunkLength)];
            var (kept, zeros) = TPacker.Pack(chunk, inverseWidth, zeroBin, last, indices, ref extremes);
            inZeroBin += zeros;
            Increment(indices[..kept], lanes, bins);
        }
        var (min, max) = TPacker.Reduce(extremes);
        foreach (var x in values[vectorized..])
        {
            min = Math.Min(min, x);
            max = Math.Max(max, x);
            lanes[BinOf(x, inverseWidth, zeroBin, last)]++;
        }
        // Fewer than 2^31 values in a span, so the int counter cannot overflow.
        lanes[zeroBin] += (int)inZeroBin;
        return (min, max);
    }

    /// <summary>
    /// The vector loop over one chunk of whole vectors: writes the bins that are not the zero bin to the front of
    /// the indices, returns how many, and how many were the zero bin, and folds the chunk into the running
    /// extremes, one per vector lane (IEEE 754:2019 minimum and maximum). Implementations are methods of their own,
    /// not inlined, with the extremes in vector locals: in the larger loop nest the JIT kept them in memory, a store
    /// and a reload on the critical path of every vector.
    /// </summary>
    private interface IZeroBinPacker<TExtremes>
        where TExtremes : struct
    {
        static abstract int Width { get; }

        static abstract TExtremes Start();

        static abstract (int Kept, int Zeros) Pack(ReadOnlySpan<float> chunk, float inverseWidth, int zeroBin, int last, Span<int> indices, ref TExtremes extremes);

        /// <summary>The extremes over the lanes.</summary>
        static abstract (float Min, float Max) Reduce(TExtremes extremes);
    }

    private readonly struct Avx2Packer : IZeroBinPacker<Extremes256>
    {
        public static int Width => Vector256<float>.Count;

        public static Extremes256 Start() => new(Vector256.Create(float.PositiveInfinity), Vector256.Create(float.NegativeInfinity));

        public static (float Min, float Max) Reduce(Extremes256 extremes)
        {
            Span<float> lanes = stackalloc float[2 * Width];
            extremes.Lo.CopyTo(lanes);
            extremes.Hi.CopyTo(lanes[Width..]);
            return ChannelExtremes.ReduceLanes(lanes);
        }

        [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
        public static (int Kept, int Zeros) Pack(ReadOnlySpan<float> chunk, float inverseWidth, int zeroBin, int last, Span<int> indices, ref Extremes256 extremes)
        {
            const int width = 8;
            var leftPack = LeftPack;
            var scale = Vector256.Create(inverseWidth);
            var zero = Vector256.Create(zeroBin);
            var high = Vector256.Create(last);
            var lo = extremes.Lo;
            var hi = extremes.Hi;
            var zeros = Vector256<int>.Zero;
            var kept = 0;
            for (var i = 0; i + width <= chunk.Length; i += width)
            {
                var x = Vector256.Create(chunk.Slice(i, width));
                lo = Vector256.Min(lo, x);
                hi = Vector256.Max(hi, x);
                var bin = Vector256.ConvertToInt32(Vector256.Floor(x * scale)) + zero;
                bin = Vector256.Min(Vector256.Max(bin, Vector256<int>.Zero), high);
                var atZero = Vector256.Equals(bin, zero);
                // A true compare lane is −1, so subtracting counts it.
                zeros -= atZero;
                var zeroMask = atZero.ExtractMostSignificantBits();
                var shuffle = Avx2.ConvertToVector256Int32(Vector128.CreateScalar(leftPack[(int)zeroMask]).AsByte());
                Avx2.PermuteVar8x32(bin, shuffle).CopyTo(indices.Slice(kept, width));
                kept += width - BitOperations.PopCount(zeroMask);
            }
            extremes = new Extremes256(lo, hi);
            return (kept, Vector256.Sum(zeros));
        }
    }

    /// <summary>Running extremes, one per lane of a 256-bit vector.</summary>
    private readonly record struct Extremes256(Vector256<float> Lo, Vector256<float> Hi);

    /// <summary>Running extremes, one per lane of a 512-bit vector.</summary>
    private readonly record struct Extremes512(Vector512<float> Lo, Vector512<float> Hi);

    private readonly struct Avx512Packer : IZeroBinPacker<Extremes512>
    {
        public static int Width => Vector512<float>.Count;

        public static Extremes512 Start() => new(Vector512.Create(float.PositiveInfinity), Vector512.Create(float.NegativeInfinity));

        public static (float Min, float Max) Reduce(Extremes512 extremes)
        {
            Span<float> lanes = stackalloc float[2 * Width];
            extremes.Lo.CopyTo(lanes);
            extremes.Hi.CopyTo(lanes[Width..]);
            return ChannelExtremes.ReduceLanes(lanes);
        }

        [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
        public static (int Kept, int Zeros) Pack(ReadOnlySpan<float> chunk, float inverseWidth, int zeroBin, int last, Span<int> indices, ref Extremes512 extremes)
        {
            const int width = 16;
            var scale = Vector512.Create(inverseWidth);
            var zero = Vector512.Create(zeroBin);
            var high = Vector512.Create(last);
            var lo = extremes.Lo;
            var hi = extremes.Hi;
            var zeros = Vector512<int>.Zero;
            var kept = 0;
            for (var i = 0; i + width <= chunk.Length; i += width)
            {
                var x = Vector512.Create(chunk.Slice(i, width));
                lo = Vector512.Min(lo, x);
                hi = Vector512.Max(hi, x);
                var bin = Vector512.ConvertToInt32(Vector512.Floor(x * scale)) + zero;
                bin = Vector512.Min(Vector512.Max(bin, Vector512<int>.Zero), high);
                var atZero = Vector512.Equals(bin, zero);
                zeros -= atZero;
                // All 16 lanes are stored; the ones past the kept count are overwritten by the next step or ignored.
                Avx512F.Compress(Vector512<int>.Zero, ~atZero, bin).CopyTo(indices.Slice(kept, width));
                kept += width - BitOperations.PopCount(atZero.ExtractMostSignificantBits());
            }
            extremes = new Extremes512(lo, hi);
            return (kept, Vector512.Sum(zeros));
        }
    }

    /// <summary>
    /// <see cref="BinIndices(ReadOnlySpan{float}, float, int, int, Span{int})"/> that also folds the values the
    /// vector loop reads into the running extremes <paramref name="lo"/> and <paramref name="hi"/> (IEEE 754:2019
    /// minimum and maximum, see <see cref="ChannelExtremes.MinMax"/>) and returns them; the scalar tail, fewer than
    /// one vector, is left to the caller. The extremes travel by value: through a ref the loop would update memory.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static (Vector<float> Lo, Vector<float> Hi) BinIndices(ReadOnlySpan<float> values, float inverseWidth, int zeroBin, int last, Span<int> indices, Vector<float> lo, Vector<float> hi)
    {
        var i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var scale = new Vector<float>(inverseWidth);
            var zero = new Vector<int>(zeroBin);
            var high = new Vector<int>(last);
            var width = Vector<float>.Count;
            for (; i + width <= values.Length; i += width)
            {
                var x = new Vector<float>(values.Slice(i, width));
                lo = Vector.Min(lo, x);
                hi = Vector.Max(hi, x);
                var bin = Vector.ConvertToInt32(Vector.Floor(x * scale)) + zero;
                Vector.Min(Vector.Max(bin, Vector<int>.Zero), high).CopyTo(indices.Slice(i, width));
            }
        }
        for (; i < values.Length; i++)
        {
            indices[i] = BinOf(values[i], inverseWidth, zeroBin, last);
        }
        return (lo, hi);
    }

    /// <summary>One increment per index, consecutive indices going to consecutive lanes.</summary>
    /// <remarks>
    /// Every index comes from <see cref="BinOf"/> or its vector forms, which clamp to [0, bins − 1], and
    /// <paramref name="lanes"/> holds <see cref="Lanes"/> × bins counters (checked once here), so the increments skip
    /// the per-element bounds checks: with them the loop took about ten instructions per value instead of four. Inlined:
    /// a call inside the counting loop makes the JIT spill the caller's vectors (every vector register is
    /// caller-saved).
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Increment(ReadOnlySpan<int> indices, Span<int> lanes, int bins)
    {
        if (lanes.Length < Lanes * bins)
        {
            throw new ArgumentException($"{lanes.Length} lane counters for {bins} bins", nameof(lanes));
        }
        ref var lane0 = ref MemoryMarshal.GetReference(lanes);
        ref var lane1 = ref Unsafe.Add(ref lane0, bins);
        ref var lane2 = ref Unsafe.Add(ref lane1, bins);
        ref var lane3 = ref Unsafe.Add(ref lane2, bins);
        var i = 0;
        for (; i + Lanes <= indices.Length; i += Lanes)
        {
            Unsafe.Add(ref lane0, indices[i])++;
            Unsafe.Add(ref lane1, indices[i + 1])++;
            Unsafe.Add(ref lane2, indices[i + 2])++;
            Unsafe.Add(ref lane3, indices[i + 3])++;
        }
        for (; i < indices.Length; i++)
        {
            Unsafe.Add(ref lane0, indices[i])++;
        }
    }

    private static ImmutableArray<ulong> BuildLeftPack()
    {
        var table = new ulong[256];
        for (var mask = 0; mask < table.Length; mask++)
        {
            var kept = 0;
            for (var lane = 0; lane < 8; lane++)
            {
                if ((mask & (1 << lane)) == 0)
                {
                    table[mask] |= (ulong)lane << (8 * kept++);
                }
            }
        }
        return [.. table];
    }
}
