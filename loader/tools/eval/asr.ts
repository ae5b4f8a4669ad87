/**
 * Speech recognition metrics: word error rate and character error rate from a Levenshtein
 * alignment of each hypothesis against its reference, with the alignment counts (hits,
 * substitutions, deletions, insertions). Corpus figures sum the counts over every utterance, then
 * divide: WER = (S + D + I) / (S + D + H), the number of reference tokens below the line.
 *
 * Text is normalised minimally (docs/batch.md): whitespace trimmed and runs of it made one space;
 * optionally lowercased and punctuation (Unicode category P) removed. Words are the pieces between
 * spaces; characters are the code points of the normalised text, spaces included (jiwer's CER does
 * the same).
 */

export interface AlignmentCounts {
  hits: number;
  substitutions: number;
  deletions: number;
  insertions: number;
}

export interface ErrorRate extends AlignmentCounts {
  /** (S + D + I) / (S + D + H); null when the references hold no token at all. */
  rate: number | null;
  /** Reference tokens: S + D + H. */
  reference: number;
}

export interface AsrMetrics {
  count: number;
  wer: ErrorRate;
  cer: ErrorRate;
  /** Utterances whose hypothesis equals the reference word for word. */
  exact: number;
}

export interface Normalisation {
  lowercase?: boolean;
  stripPunct?: boolean;
}

export function normalise(text: string, options: Normalisation = {}): string {
  let t = options.lowercase === true ? text.toLowerCase() : text;
  if (options.stripPunct === true) t = t.replace(/\p{P}+/gu, '');
  return t.trim().replace(/\s+/gu, ' ');
}

export const words = (normalised: string): string[] => (normalised === '' ? [] : normalised.split(' '));
export const chars = (normalised: string): string[] => Array.from(normalised);

/**
 * The counts of a minimum edit alignment (unit costs) of `hyp` against `ref`. Of equally short
 * alignments, the backtrace takes a match or substitution first, then a deletion, then an
 * insertion; the total S + D + I is the edit distance whatever the choice.
 */
export function align(ref: readonly string[], hyp: readonly string[]): AlignmentCounts {
  const n = ref.length;
  const m = hyp.length;
  const w = m + 1;
  const d = new Uint32Array((n + 1) * w);
  for (let i = 0; i <= n; i++) d[i * w] = i;
  for (let j = 0; j <= m; j++) d[j] = j;
  for (let i = 1; i <= n; i++) {
    for (let j = 1; j <= m; j++) {
      const diag = d[(i - 1) * w + j - 1]! + (ref[i - 1] === hyp[j - 1] ? 0 : 1);
      d[i * w + j] = Math.min(diag, d[(i - 1) * w + j]! + 1, d[i * w + j - 1]! + 1);
    }
  }
  const counts: AlignmentCounts = { hits: 0, substitutions: 0, deletions: 0, insertions: 0 };
  let i = n;
  let j = m;
  while (i > 0 || j > 0) {
    const here = d[i * w + j]!;
    if (i > 0 && j > 0) {
      const same = ref[i - 1] === hyp[j - 1];
      if (d[(i - 1) * w + j - 1]! + (same ? 0 : 1) === here) {
        if (same) counts.hits++;
        else counts.substitutions++;
        i--;
        j--;
        continue;
      }
    }
    if (i > 0 && d[(i - 1) * w + j]! + 1 === here) {
      counts.deletions++;
      i--;
    } else {
      counts.insertions++;
      j--;
    }
  }
  return counts;
}

function add(total: AlignmentCounts, c: AlignmentCounts): void {
  total.hits += c.hits;
  total.substitutions += c.substitutions;
  total.deletions += c.deletions;
  total.insertions += c.insertions;
}

function rateOf(c: AlignmentCounts): ErrorRate {
  const reference = c.hits + c.substitutions + c.deletions;
  const errors = c.substitutions + c.deletions + c.insertions;
  return { ...c, reference, rate: reference === 0 ? null : errors / reference };
}

/** Corpus WER and CER of (reference, hypothesis) pairs. */
export function asr(pairs: readonly { label: string; prediction: string }[], options: Normalisation = {}): AsrMetrics {
  const w: AlignmentCounts = { hits: 0, substitutions: 0, deletions: 0, insertions: 0 };
  const c: AlignmentCounts = { hits: 0, substitutions: 0, deletions: 0, insertions: 0 };
  let exact = 0;
  for (const { label, prediction } of pairs) {
    const ref = normalise(label, options);
    const hyp = normalise(prediction, options);
    const counts = align(words(ref), words(hyp));
    if (counts.hits === words(ref).length && counts.hits === words(hyp).length) exact++;
    add(w, counts);
    add(c, align(chars(ref), chars(hyp)));
  }
  return { count: pairs.length, wer: rateOf(w), cer: rateOf(c), exact };
}
