"""Test audio for the sipua tests, in pure Python (wave, math, struct): make
tone WAVs, and analyse what a user agent recorded.

- write_tone(): an N-second sine (1 kHz by default) as a 16-bit PCM WAV, 8 kHz
  mono (what G.711 carries) or any rate/channel count (44.1 kHz stereo makes
  the player convert).
- dominant_frequency(): the strongest frequency of a recording, by Goertzel
  scans (coarse over 100 Hz-0.49*rate on short Hann windows, then 1 Hz steps
  around the peak on a long window).
- tone_frames(): how many 20 ms frames carry the tone: a frame counts when
  the tone's amplitude (Goertzel at freq) is above an absolute floor and
  holds most of the frame's energy, so silence, noise and clicks do not.

A full-scale tone through G.711 keeps nearly all its energy at its own
frequency; silence (what a recorder writes while nothing arrives) has none.
"""
import math
import struct
import wave

FRAME_MS = 20
TONE_AMPLITUDE = 0.5       # of full scale: 16383 in 16-bit samples
MIN_TONE_AMPLITUDE = 2000  # a frame's tone must be at least this (1/8 of what we send)
MIN_TONE_SHARE = 0.5       # and hold at least this share of the frame's energy


def write_tone(path, seconds, freq=1000.0, rate=8000, channels=1, amplitude=TONE_AMPLITUDE,
               silence_after=0.0):
    """A 16-bit PCM WAV: seconds of a sine at freq Hz (the same on every
    channel), then silence_after seconds of silence. Returns path."""
    n = int(round(seconds * rate))
    a = amplitude * 32767
    w_ = 2 * math.pi * freq / rate
    frames = bytearray()
    for i in range(n):
        v = int(round(a * math.sin(w_ * i)))
        frames += struct.pack("<h", v) * channels
    frames += b"\0\0" * channels * int(round(silence_after * rate))
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(bytes(frames))
    return str(path)


def read_wav(path):
    """(rate, channels, samples of the first channel as a list of ints) of a
    16-bit PCM WAV; AssertionError naming the file when it is something else."""
    try:
        with wave.open(str(path)) as w:
            n, ch, rate, width = w.getnframes(), w.getnchannels(), w.getframerate(), \
                w.getsampwidth()
            data = w.readframes(n)
    except (wave.Error, EOFError) as e:
        raise AssertionError(f"{path}: not a PCM WAV ({e})")
    assert width == 2, f"{path}: {8 * width}-bit samples, expected 16-bit"
    n = len(data) // (2 * ch)
    return rate, ch, list(struct.unpack(f"<{n * ch}h", data[:n * ch * 2])[::ch])


def goertzel_power(samples, rate, freq, start=0, count=None, window=None):
    """|X(freq)|^2 of samples[start:start+count] (any real frequency, not
    only a DFT bin), optionally weighted by window (a list of count weights)."""
    count = len(samples) - start if count is None else count
    coeff = 2 * math.cos(2 * math.pi * freq / rate)
    s1 = s2 = 0.0
    if window is None:
        for x in samples[start:start + count]:
            s1, s2 = x + coeff * s1 - s2, s1
    else:
        for x, h in zip(samples[start:start + count], window):
            s1, s2 = x * h + coeff * s1 - s2, s1
    return s1 * s1 + s2 * s2 - coeff * s1 * s2


def _hann(n):
    return [0.5 - 0.5 * math.cos(2 * math.pi * i / (n - 1)) for i in range(n)]


def _loudest_windows(samples, n, count):
    """Starts of up to count windows of n samples, spread over samples,
    keeping the loudest ones (a recording may begin and end with silence)."""
    if len(samples) < n:
        return [0] if samples else []
    step = max(n, (len(samples) - n) // 16)
    starts = list(range(0, len(samples) - n + 1, step))
    starts.sort(key=lambda s: -sum(x * x for x in samples[s:s + n:4]))
    return starts[:count]


def dominant_frequency(samples, rate, lo=100.0, hi=None):
    """The frequency (Hz, ~1 Hz resolution) where samples have the most
    energy between lo and hi (default 0.49*rate); 0.0 for silence."""
    hi = hi or 0.49 * rate
    if not samples or not any(samples):
        return 0.0
    # Coarse: 20 Hz steps on 50 ms Hann windows (main lobe +-40 Hz: no peak
    # falls between two candidates), summed over the loudest few windows.
    n = max(16, int(rate * 0.05))
    win = _hann(n)
    starts = _loudest_windows(samples, n, 4)
    best, best_p = 0.0, -1.0
    f = lo
    while f <= hi:
        p = sum(goertzel_power(samples, rate, f, s, n, win) for s in starts)
        if p > best_p:
            best, best_p = f, p
        f += 20.0
    # Fine: 1 Hz steps around it on one long window (0.5 s, or what there is).
    n = min(len(samples), int(rate * 0.5))
    win = _hann(n)
    start = _loudest_windows(samples, n, 1)[0]
    fine, fine_p = best, -1.0
    for k in range(-25, 26):
        p = goertzel_power(samples, rate, best + k, start, n, win)
        if p > fine_p:
            fine, fine_p = best + k, p
    return float(fine)


def tone_frames(samples, rate, freq=1000.0, frame_ms=FRAME_MS):
    """One boolean per frame_ms frame of samples: does it carry the tone?"""
    n = int(rate * frame_ms / 1000)
    out = []
    for start in range(0, len(samples) - n + 1, n):
        frame = samples[start:start + n]
        energy = sum(x * x for x in frame) / n           # mean square
        if energy == 0:
            out.append(False)
            continue
        p = goertzel_power(frame, rate, freq)
        amp = 2 * math.sqrt(max(p, 0.0)) / n              # the tone's amplitude
        out.append(amp >= MIN_TONE_AMPLITUDE and (amp * amp / 2) >= MIN_TONE_SHARE * energy)
    return out


class Analysis:
    """What a recording holds: seconds, rate, channels, rms, dominant
    frequency, and its 20 ms frames with the tone (flags, and their count)."""

    def __init__(self, path, freq=1000.0):
        self.path = str(path)
        self.freq = freq
        self.rate, self.channels, s = read_wav(path)
        self.seconds = len(s) / self.rate if self.rate else 0.0
        self.rms = math.sqrt(sum(x * x for x in s) / len(s)) if s else 0.0
        self.dominant = dominant_frequency(s, self.rate) if s else 0.0
        self.flags = tone_frames(s, self.rate, freq)
        self.tone = sum(self.flags)
        self.frames = len(self.flags)

    def runs(self):
        """The frame flags as runs: [(True|False, length in frames), ...]."""
        out = []
        for f in self.flags:
            if out and out[-1][0] == f:
                out[-1][1] += 1
            else:
                out.append([f, 1])
        return [tuple(r) for r in out]

    def tone_in(self, t0, t1):
        """Share of the frames between t0 and t1 seconds that carry the tone."""
        a, b = int(t0 * 1000 / FRAME_MS), int(t1 * 1000 / FRAME_MS)
        sel = self.flags[max(0, a):max(0, b)]
        return sum(sel) / len(sel) if sel else 0.0

    def __repr__(self):
        runs = " ".join(f"{'T' if t else '.'}{n}" for t, n in self.runs())
        return (f"<{self.path}: {self.seconds:.2f} s at {self.rate} Hz x{self.channels}, "
                f"rms {self.rms:.0f}, dominant {self.dominant:.0f} Hz, tone in {self.tone} of "
                f"{self.frames} frames; runs {runs[:400]}>")


def check_tone(path, expected_frames, freq=1000.0, share=0.95, who=""):
    """Asserts that the recording at path is the tone (dominant frequency
    within 2% of freq) and carries it in at least share of expected_frames
    20 ms frames (the frames the sender played while the call was up).
    Returns the Analysis."""
    a = Analysis(path, freq)
    assert a.rate == 8000 and a.channels == 1, f"{who} recording is not 8 kHz mono: {a}"
    assert abs(a.dominant - freq) <= 0.02 * freq, \
        f"{who} recording's dominant frequency {a.dominant:.0f} Hz, expected {freq:.0f}: {a}"
    assert expected_frames > 0, f"{who}: the sender played nothing (expected 0 frames)"
    assert a.tone >= share * expected_frames, \
        (f"{who}: only {a.tone} of the {expected_frames} frames sent carry the tone "
         f"({100 * a.tone / expected_frames:.1f}% < {100 * share:.0f}%): {a}")
    return a
