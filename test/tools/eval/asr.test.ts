/**
 * WER and CER of `aiges eval --task asr` (loader/tools/eval/asr.ts). The expected values are those
 * published in jiwer's test suite (github.com/jitsi/jiwer, tests/test_measures.py, tests/test_wer.py
 * and tests/test_cer.py, whose "known values" come from Morris et al., "From WER and RIL to MER and
 * WIL", 2004), and the examples of its usage page (jitsi.github.io/jiwer/usage/); counts that the
 * suite does not state are worked out by hand beside them.
 */
import { describe, expect, it } from 'vitest';
import { align, asr, chars, normalise, words } from '../../../loader/tools/eval/asr.js';

const wer = (ref: string, hyp: string) => asr([{ label: ref, prediction: hyp }]).wer.rate;
const cer = (ref: string, hyp: string) => asr([{ label: ref, prediction: hyp }]).cer.rate;

describe('WER (jiwer tests/test_wer.py, tests/test_measures.py)', () => {
  it.each([
    ['This is a test', 'This is a test', 0],
    ['This is a test', '', 1],
    ['This is a test', 'This test', 0.5],
    ['i am a short ground truth', 'i am a considerably longer and very much incorrect hypothesis', 7 / 6],
    // known values (Morris et al. 2004)
    ['X', 'X', 0],
    ['X', 'X X Y Y', 3],
    ['X Y X', 'X Z', 2 / 3],
    ['X', 'Y', 1],
    ['X', 'Y Z', 2],
  ])('"%s" / "%s" → %d', (ref, hyp, expected) => {
    expect(wer(ref, hyp)).toBeCloseTo(expected, 15);
  });

  it('sums over utterances before dividing (jiwer usage: "hello world"/"hello duck", "i like monthy python"/"i like python")', () => {
    const m = asr([
      { label: 'hello world', prediction: 'hello duck' },
      { label: 'i like monthy python', prediction: 'i like python' },
    ]);
    // One substitution (world → duck), one deletion (monthy), 4 hits, over 6 reference words.
    expect(m.wer).toEqual({ hits: 4, substitutions: 1, deletions: 1, insertions: 0, reference: 6, rate: 2 / 6 });
    expect(m.exact).toBe(0);
  });

  it('counts "X" against "X X Y Y" as one hit and three insertions', () => {
    expect(align(['X'], ['X', 'X', 'Y', 'Y'])).toEqual({ hits: 1, substitutions: 0, deletions: 0, insertions: 3 });
  });
});

describe('CER (jiwer tests/test_cer.py): characters of the text, spaces included', () => {
  it.each([
    ['This is a test', 'This is a test', 0],
    ['This is a test', '', 1],
    ['This is a test', 'This test', 5 / 14],
    ['X', 'X X Y Y', 6],
    ['X Y X', 'X Z', 3 / 5],
    ['X', 'Y Z', 3],
  ])('"%s" / "%s" → %d', (ref, hyp, expected) => {
    expect(cer(ref, hyp)).toBeCloseTo(expected, 15);
  });

  it('gives the counts jiwer returns for ["i", "am i good"] / ["i am", "y good"]', () => {
    const m = asr([
      { label: 'i', prediction: 'i am' },
      { label: 'am i good', prediction: 'y good' },
    ]);
    expect(m.cer).toMatchObject({ rate: 0.7, hits: 6, substitutions: 1, deletions: 3, insertions: 3 });
  });

  it('is 0.6 for the permuted pair of jiwer test_permutations_invariance', () => {
    const m = asr([
      { label: 'i', prediction: 'i am' },
      { label: 'am i good', prediction: 'i good' },
    ]);
    expect(m.cer.rate).toBeCloseTo(0.6, 15);
  });
});

describe('normalisation', () => {
  it('trims and makes each run of whitespace one space, nothing more by default', () => {
    expect(normalise('  Hello,\tWorld!\n ')).toBe('Hello, World!');
    expect(words(normalise(' a  b '))).toEqual(['a', 'b']);
    expect(chars('né')).toEqual(['n', 'é']);
  });

  it('lowercases and strips punctuation on request', () => {
    expect(normalise('Hello, World! “Quoted” — dash', { lowercase: true, stripPunct: true })).toBe('hello world quoted dash');
    expect(asr([{ label: 'Hello, world.', prediction: 'hello world' }], { lowercase: true, stripPunct: true }).wer.rate).toBe(0);
    expect(asr([{ label: 'Hello, world.', prediction: 'hello world' }]).wer.rate).toBe(1);
  });

  it('has no rate when the references hold no word', () => {
    expect(asr([{ label: '  ', prediction: 'x' }]).wer).toMatchObject({ rate: null, insertions: 1, reference: 0 });
  });
});
