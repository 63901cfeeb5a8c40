/**
 * Tokens of the nft file syntax subset (docs/rules.md §1): words, quoted strings, `$variables`,
 * punctuation `{ } ; , = == != & | ( )`, newlines (statement separators) and the end. `#` starts a
 * comment to the end of the line. Words are maximal runs of the characters addresses, ranges,
 * prefixes and ports are made of (`10.0.0.1-10.0.0.9:1024-2047`, `[2001:db8::1]:80`,
 * `fully-random`), so the parser reads their parts from one token; each token keeps its line
 * and column (1-based) for error messages.
 */

export type TokKind = 'word' | 'str' | 'var' | 'punct' | 'nl' | 'eof';

export interface Tok {
  kind: TokKind;
  text: string;
  line: number;
  col: number;
  /** Offsets in the source text [start, end). */
  start: number;
  end: number;
}

/** A problem in a ruleset, located by 1-based line and column in the ruleset text. */
export class RuleSyntaxError extends Error {
  constructor(readonly line: number, readonly col: number, readonly detail: string) {
    super(`${line}:${col}: ${detail}`);
    this.name = 'RuleSyntaxError';
  }
}

const WORD = /[A-Za-z0-9_.:\-/*+[\]%]/;
const VAR = /[A-Za-z0-9_]/;

/** Splits `text` into tokens; throws RuleSyntaxError on a character outside the subset or an unterminated string. */
export function lex(text: string): Tok[] {
  const out: Tok[] = [];
  let i = 0, line = 1, lineStart = 0;
  const push = (kind: TokKind, s: number, e: number, t = text.slice(s, e)): void => {
    out.push({ kind, text: t, line, col: s - lineStart + 1, start: s, end: e });
  };
  while (i < text.length) {
    const c = text[i];
    if (c === '\n') {
      push('nl', i, i + 1);
      i++; line++; lineStart = i;
    } else if (c === ' ' || c === '\t' || c === '\r') {
      i++;
    } else if (c === '\\' && (text[i + 1] === '\n' || (text[i + 1] === '\r' && text[i + 2] === '\n'))) {
      // line continuation
      i += text[i + 1] === '\n' ? 2 : 3; line++; lineStart = i;
    } else if (c === '#') {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (c === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"' && text[j] !== '\n') j++;
      if (text[j] !== '"') throw new RuleSyntaxError(line, i - lineStart + 1, 'unterminated string (a quoted string ends with " on the same line)');
      push('str', i, j + 1, text.slice(i + 1, j));
      i = j + 1;
    } else if (c === '$') {
      let j = i + 1;
      while (j < text.length && VAR.test(text[j])) j++;
      if (j === i + 1) throw new RuleSyntaxError(line, i - lineStart + 1, 'expected a variable name after "$"');
      push('var', i, j, text.slice(i + 1, j));
      i = j;
    } else if (c === '!' || c === '=') {
      if (text[i + 1] === '=') { push('punct', i, i + 2); i += 2; } else if (c === '=') { push('punct', i, i + 1); i++; } else {
        throw new RuleSyntaxError(line, i - lineStart + 1, 'unexpected "!" (supported: "!=" before a value)');
      }
    } else if (c === '{' || c === '}' || c === ';' || c === ',' || c === '&' || c === '|' || c === '(' || c === ')') {
      push('punct', i, i + 1);
      i++;
    } else if (WORD.test(c)) {
      let j = i + 1;
      while (j < text.length && WORD.test(text[j])) j++;
      push('word', i, j);
      i = j;
    } else {
      throw new RuleSyntaxError(line, i - lineStart + 1, `unexpected character ${JSON.stringify(c)} (outside the supported nft subset; see docs/rules.md)`);
    }
  }
  out.push({ kind: 'eof', text: '', line, col: i - lineStart + 1, start: i, end: i });
  return out;
}
