import { describe, expect, it } from 'vitest';
import { isApplePlatform, modKeyLabel, shortcutHint } from './keys';

describe('shortcut hints', () => {
  it('name Ctrl on Linux and Windows, ⌘ on Apple platforms', () => {
    expect(modKeyLabel('Linux x86_64')).toBe('Ctrl');
    expect(modKeyLabel('Win32')).toBe('Ctrl');
    expect(modKeyLabel('MacIntel')).toBe('⌘');
    expect(isApplePlatform('iPad')).toBe(true);
    expect(shortcutHint('↵', 'Linux x86_64')).toBe('Ctrl ↵');
    expect(shortcutHint('↵', 'MacIntel')).toBe('⌘↵');
  });
});
