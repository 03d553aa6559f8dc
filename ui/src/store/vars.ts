// Environments' `{{name}}` variables and a pane's secrets, as pure functions: which
// variables a pane's settings use, the settings with every variable put in (or the first
// one that cannot be, named with its environment), and the secrets a setup holds, left
// out before it is saved and put back when it is opened. Where values come from (the
// server's environments, the keychain, what a user typed) is `app/saved.svelte.ts`'s.

import type { PaneConfig } from './config';

export interface EnvVar {
  name: string;
  /** Empty when `secret`: the value lives in the keychain or this window only. */
  value: string;
  secret?: boolean;
}

export interface Environment {
  id: string;
  name: string;
  vars: EnvVar[];
}

/** `{{name}}`, spaces inside the braces allowed; names as the server accepts them. */
const VAR = /\{\{\s*([A-Za-z_][A-Za-z0-9_.-]*)\s*\}\}/g;

/** The fields of a pane's settings that may hold variables. */
const TEXT_FIELDS = ['url', 'subprotocols', 'bearer', 'basicUser', 'basicPass', 'body', 'lastEventId'] as const;

/** The variable names `text` uses, each once, in order. */
export function varsIn(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(VAR)) if (!out.includes(m[1])) out.push(m[1]);
  return out;
}

/** Every variable a pane's settings use (the enabled headers included). */
export function varsOfConfig(c: PaneConfig): string[] {
  const texts: string[] = TEXT_FIELDS.map((k) => c[k]);
  for (const h of c.headers) if (h.on) texts.push(h.name, h.value);
  const out: string[] = [];
  for (const t of texts) for (const v of varsIn(t)) if (!out.includes(v)) out.push(v);
  return out;
}

/** Why a variable has no value; `null` when it has one. */
export type Lookup = (name: string) => { value: string } | { missing: string };

/** The text with each `{{name}}` replaced; the first variable without a value stops it. */
export function substitute(text: string, lookup: Lookup): { ok: true; text: string } | { ok: false; message: string } {
  let failed: string | null = null;
  const out = text.replace(VAR, (whole, name: string) => {
    if (failed !== null) return whole;
    const r = lookup(name);
    if ('missing' in r) {
      failed = r.missing;
      return whole;
    }
    return r.value;
  });
  return failed === null ? { ok: true, text: out } : { ok: false, message: failed };
}

/** A message's text with the variables that have a value put in, and the others left as
 * typed: a message may well hold literal braces (a template, a Handlebars payload), so
 * unlike a connection's settings it is never refused for them. */
export function fillKnown(text: string, lookup: Lookup): { text: string; filled: string[]; left: string[] } {
  const filled: string[] = [];
  const left: string[] = [];
  const out = text.replace(VAR, (whole, name: string) => {
    const r = lookup(name);
    if ('missing' in r) {
      if (!left.includes(name)) left.push(name);
      return whole;
    }
    if (!filled.includes(name)) filled.push(name);
    return r.value;
  });
  return { text: out, filled, left };
}

/** Looks variables up in `env`, secret values in `secrets` (by variable name). Each
 * failure names the variable and the environment, and says what to do. */
export function envLookup(env: Environment | null, secrets: Readonly<Record<string, string>>): Lookup {
  return (name) => {
    if (!env)
      return {
        missing: `{{${name}}} is used, but no environment is chosen: choose one in the top bar (Environment), or remove the braces`,
      };
    const v = env.vars.find((x) => x.name === name);
    if (!v)
      return {
        missing: `{{${name}}} is not defined in the environment "${env.name}": add it under Environment → Edit, or choose another environment`,
      };
    if (v.secret) {
      const s = secrets[name];
      if (s === undefined || s === '')
        return {
          missing: `{{${name}}} is secret in the environment "${env.name}" and has no value here: enter it under Environment → Edit`,
        };
      return { value: s };
    }
    return { value: v.value };
  };
}

export type Resolved =
  { ok: true; config: PaneConfig } | { ok: false; field: 'url' | 'headers' | 'auth' | 'options'; message: string };

/** The settings with every variable put in: what is sent, never what is saved. */
export function resolveConfig(c: PaneConfig, lookup: Lookup): Resolved {
  const out: PaneConfig = { ...c, headers: c.headers.map((h) => ({ ...h })) };
  const fieldOf = (k: (typeof TEXT_FIELDS)[number]): 'url' | 'auth' | 'options' =>
    k === 'url' ? 'url' : k === 'bearer' || k === 'basicUser' || k === 'basicPass' ? 'auth' : 'options';
  for (const k of TEXT_FIELDS) {
    const r = substitute(c[k], lookup);
    if (!r.ok) return { ok: false, field: fieldOf(k), message: r.message };
    out[k] = r.text;
  }
  for (const h of out.headers) {
    if (!h.on) continue;
    for (const part of ['name', 'value'] as const) {
      const r = substitute(h[part], lookup);
      if (!r.ok) return { ok: false, field: 'headers', message: r.message };
      h[part] = r.text;
    }
  }
  return { ok: true, config: out };
}

/** One secret a setup needs: `bearer`, `basic` (the password), `header NAME`. The keys
 * are those an exported file lists under `to_fill`. */
export interface SecretSlot {
  key: string;
  label: string;
  placeholder: string;
}

/** The secrets a pane's settings need, whether or not they hold a value now. */
export function secretSlots(c: PaneConfig): SecretSlot[] {
  const out: SecretSlot[] = [];
  if (c.auth === 'bearer') out.push({ key: 'bearer', label: 'Bearer token', placeholder: 'token' });
  if (c.auth === 'basic')
    out.push({
      key: 'basic',
      label: `Basic password${c.basicUser ? ` for ${c.basicUser}` : ''}`,
      placeholder: 'password',
    });
  for (const h of c.headers)
    if (h.secret && h.name.trim())
      out.push({ key: `header ${h.name.trim()}`, label: `${h.name.trim()} header`, placeholder: 'value' });
  return out;
}

/** The secrets' values the settings hold now, by key (empty ones left out). */
export function secretValues(c: PaneConfig): Record<string, string> {
  const out: Record<string, string> = {};
  if (c.auth === 'bearer' && c.bearer) out.bearer = c.bearer;
  if (c.auth === 'basic' && c.basicPass) out.basic = c.basicPass;
  for (const h of c.headers) if (h.secret && h.name.trim() && h.value) out[`header ${h.name.trim()}`] = h.value;
  return out;
}

/** The settings without any secret: what a store, a file or storage may keep. */
export function withoutSecrets(c: PaneConfig): PaneConfig {
  return {
    ...c,
    bearer: '',
    basicPass: '',
    headers: c.headers.map((h) => ({ ...h, value: h.secret ? '' : h.value })),
  };
}

/** The settings with the secrets in `values` (by key) put back; keys not given stay empty. */
export function withSecrets(c: PaneConfig, values: Readonly<Record<string, string>>): PaneConfig {
  const out: PaneConfig = { ...c, headers: c.headers.map((h) => ({ ...h })) };
  if (values.bearer !== undefined) out.bearer = values.bearer;
  if (values.basic !== undefined) out.basicPass = values.basic;
  for (const h of out.headers) {
    const v = h.secret ? values[`header ${h.name.trim()}`] : undefined;
    if (v !== undefined) h.value = v;
  }
  return out;
}
