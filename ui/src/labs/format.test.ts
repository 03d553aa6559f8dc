import { describe, expect, it } from 'vitest';
import { codeSpans, formatCell, formatNumber, relativeTime, resultFileName, timedSteps, verdictLabel } from './format';

describe('lab figures', () => {
  it('show numbers with their unit, strings as given and a missing figure as a dash', () => {
    expect(formatCell(12, 'ms')).toBe('12 ms');
    expect(formatCell(1234, 'B')).toBe('1,234 B');
    expect(formatCell(0.42137, 'ms')).toBe('0.421 ms');
    expect(formatCell(33.333, '%')).toBe('33.3 %');
    expect(formatCell('ids 4, 5, 6', 'events')).toBe('ids 4, 5, 6');
    expect(formatCell(null, 'ms')).toBe('—');
    expect(formatCell(7, '')).toBe('7');
    expect(formatCell(0, 'events')).toBe('0 events');
  });

  it('never print a non-finite number as a value', () => {
    expect(formatNumber(NaN)).toBe('—');
    expect(formatCell(Infinity, 'ms')).toBe('—');
  });
});

describe('lab steps', () => {
  it('are timed from the first step, to the microsecond the server gave', () => {
    const steps = timedSteps([
      { t: '2026-12-07T00:00:01.000100Z', text: 'open' },
      { t: '2026-12-07T00:00:02.500600Z', text: 'drop' },
      { t: '2026-12-07T01:00:03.000100+01:00', text: 'offset' },
    ]);
    expect(steps).toEqual([
      { at: '+0.000 s', text: 'open' },
      { at: '+1.500 s', text: 'drop' },
      { at: '+2.000 s', text: 'offset' },
    ]);
    expect(relativeTime(NaN, 0)).toBe('');
  });
});

describe('claims and saving', () => {
  it('label verdicts, unknown ones as given', () => {
    expect(verdictLabel('partly')).toBe('Partly true');
    expect(verdictLabel('disputed')).toBe('disputed');
  });
  it('name the saved result after the lab', () => {
    expect(resultFileName('dead-peer')).toBe('lab-dead-peer-result.json');
    expect(resultFileName('../x y')).toBe('lab--x-y-result.json');
  });
});

describe('code in lab text', () => {
  it('is marked between backtick pairs, and an unpaired backtick is left alone', () => {
    expect(codeSpans('waits `retry:` ms, then `GET`s')).toEqual([
      { code: false, text: 'waits ' },
      { code: true, text: 'retry:' },
      { code: false, text: ' ms, then ' },
      { code: true, text: 'GET' },
      { code: false, text: 's' },
    ]);
    expect(codeSpans('it`s plain')).toEqual([{ code: false, text: 'it`s plain' }]);
    expect(codeSpans('')).toEqual([]);
  });
});
