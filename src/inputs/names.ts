/** Output name templates (`--name`): their fields, the defaults, expansion, and how an earlier output is recognised. */

/** The fields an output name template (`--name`) may use. */
export const NAME_FIELDS = ['stem', 'ext', 'model', 'scale', 'dir'] as const;
type NameField = (typeof NAME_FIELDS)[number];

/** Any known field, `{stem}` and the like, built from NAME_FIELDS. */
const KNOWN_FIELD = new RegExp(`\\{(${NAME_FIELDS.join('|')})\\}`, 'g');

/** Output names: beside the input without `-o`, mirroring the input tree below an `-o` folder. */
export const DEFAULT_NAMES = { beside: '{stem}-x{scale}.{ext}', inFolder: '{dir}/{stem}.{ext}' } as const;

/** The fields a template names, in order; undefined entries are literal text. */
function fieldsOf(template: string): { text: string; field?: NameField }[] {
  return template.split(/(\{[^{}]*\})/).filter(Boolean).map((part) => {
    const field = /^\{(\w+)\}$/.exec(part)?.[1];
    return field && (NAME_FIELDS as readonly string[]).includes(field) ? { text: part, field: field as NameField } : { text: part };
  });
}

/** Checks a template: only known fields, and no field left unclosed. */
export function checkNameTemplate(template: string): string | undefined {
  const rest = template.replace(KNOWN_FIELD, '');
  const unknown = /\{[^{}]*\}/.exec(rest)?.[0];
  if (unknown !== undefined) return unknown;
  if (/[{}]/.test(rest)) return template;
  return undefined;
}

export function expand(template: string, values: Record<NameField, string>): string {
  return fieldsOf(template).map((part) => (part.field ? values[part.field] : part.text)).join('');
}

/**
 * What an earlier output's name beside its input looks like under `template`: a pattern whose `stem` group is the
 * input's stem (`cat` for `cat-x4.png`, `cat@2x.webp` under `{stem}@{scale}x.{ext}`).
 */
export function besidePattern(template: string): RegExp {
  const pattern = fieldsOf(template)
    .map(({ text, field }) => {
      if (field === 'stem') return '(?<stem>.+)';
      if (field === 'scale') return '\\d+(?:\\.\\d+)?';
      if (field === 'ext') return '[A-Za-z0-9]+';
      if (field === 'model') return '[A-Za-z0-9._-]+';
      if (field === 'dir') return '\\.';
      return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    })
    .join('');
  return new RegExp(`^${pattern}$`);
}
