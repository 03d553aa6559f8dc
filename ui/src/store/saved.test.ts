import { describe, expect, it } from 'vitest';
import { memoryStorage } from '../host/browser';
import { deleteSaved, loadSaved, saveMessage } from './saved';

describe('saved messages', () => {
  it('are kept per pane, newest first, replaced by name', () => {
    const kv = memoryStorage();
    saveMessage(kv, 'p1', { name: 'hello', mode: 'text', payload: 'hi' });
    saveMessage(kv, 'p1', { name: 'sub', mode: 'json', payload: '{"a":1}' });
    saveMessage(kv, 'p2', { name: 'other', mode: 'ping', payload: '', format: 'text' });
    const list = saveMessage(kv, 'p1', { name: 'hello', mode: 'text', payload: 'hi again' });
    expect(list.map((m) => [m.name, m.payload])).toEqual([
      ['hello', 'hi again'],
      ['sub', '{"a":1}'],
    ]);
    expect(loadSaved(kv, 'p2')).toHaveLength(1);
    expect(deleteSaved(kv, 'p1', 'sub').map((m) => m.name)).toEqual(['hello']);
    deleteSaved(kv, 'p1', 'hello');
    expect(kv.get('sscope.saved.p1')).toBeNull();
  });

  it('survive garbage in storage', () => {
    const kv = memoryStorage();
    kv.set('sscope.saved.p1', '{not json');
    expect(loadSaved(kv, 'p1')).toEqual([]);
    kv.set('sscope.saved.p1', JSON.stringify([{ name: 'ok', mode: 'text', payload: 'x' }, { name: 1 }, null]));
    expect(loadSaved(kv, 'p1').map((m) => m.name)).toEqual(['ok']);
  });
});
