/**
 * The shape of src/: its stages as folders, imports only downwards or within a folder, no import circles, and the
 * two native libraries each behind their own stage. Read from the sources' import lines, as a bundler would.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fixtures } from './helpers.js';

const src = join(fixtures, '..', 'src');

/** The stages, lowest first: a module may import its own folder's modules and those of lower stages. */
const STAGES = ['core', 'pixels', 'files', 'models', 'inference', 'convert', 'inputs', 'options', 'pages', 'run', 'cli', 'bench'] as const;

function sources(folder = src): string[] {
  return readdirSync(folder, { withFileTypes: true }).flatMap((entry) => {
    const path = join(folder, entry.name);
    if (entry.isDirectory()) return sources(path);
    return /\.(ts|cjs)$/.test(entry.name) && !entry.name.endsWith('.d.ts') ? [relative(src, path)] : [];
  });
}

/** Every module's relative imports (static, `export … from`, dynamic and require), as paths below src/. */
function importGraph(): Map<string, string[]> {
  const files = new Set(sources());
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const text = readFileSync(join(src, file), 'utf8');
    const targets = [...text.matchAll(/(?:from|import\(|require\()\s*'(\.{1,2}\/[^']+)'/g)].map((m) => {
      const named = normalize(join(dirname(file), m[1]!));
      const ts = named.replace(/\.js$/, '.ts');
      if (files.has(ts)) return ts;
      if (files.has(named)) return named;
      throw new Error(`${file} imports ${m[1]}, which is not a source file`);
    });
    graph.set(file, targets);
  }
  return graph;
}

/** The import circles: strongly connected components of more than one module, or a module importing itself. */
function circles(graph: Map<string, string[]>): string[][] {
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string) => {
    index.set(v, counter);
    low.set(v, counter++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || graph.get(v)!.includes(v)) found.push(component.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return found;
}

/** A module's stage: its folder's place in STAGES; index.ts, the public entry, is above them all. */
function stageOf(file: string): number {
  if (file === 'index.ts') return STAGES.length;
  const folder = file.split('/')[0]!;
  const stage = (STAGES as readonly string[]).indexOf(folder);
  if (stage < 0) throw new Error(`${file} is in no stage folder`);
  return stage;
}

describe('src/ layout', () => {
  const graph = importGraph();

  it('every module lies in a stage folder, but index.ts', () => {
    for (const file of graph.keys()) expect(() => stageOf(file), file).not.toThrow();
    expect([...graph.keys()].filter((f) => !f.includes('/'))).toEqual(['index.ts']);
  });

  it('has no import circles', () => {
    expect(circles(graph)).toEqual([]);
  });

  it('the check finds a circle when there is one', () => {
    const looped = new Map([...graph, ['core/errors.ts', [...graph.get('core/errors.ts')!, 'run/batch.ts']]]);
    expect(circles(looped).some((c) => c.includes('core/errors.ts') && c.includes('run/batch.ts'))).toBe(true);
  });

  it('imports only its own folder or lower stages', () => {
    const upward = [...graph].flatMap(([file, targets]) => targets.filter((t) => stageOf(t) > stageOf(file)).map((t) => `${file} → ${t}`));
    expect(upward).toEqual([]);
  });

  it('index.ts only re-exports', () => {
    const code = readFileSync(join(src, 'index.ts'), 'utf8').replace(/\/\*\*[\s\S]*?\*\//g, '').trim();
    for (const statement of code.split(/;\s*/).filter(Boolean)) expect(statement).toMatch(/^export (type )?\{[^}]*\} from '[^']+'$/);
  });

  it('onnxruntime-node is loaded only in inference/, sharp only in the image I/O modules', () => {
    // Type-only imports load nothing.
    const code = (file: string) => readFileSync(join(src, file), 'utf8').replace(/^import type .*$/gm, '');
    const loads = (pkg: string) => sources().filter((file) => new RegExp(`(?:from|import\\(|require\\()\\s*'${pkg}'`).test(code(file))).sort();
    expect(loads('onnxruntime-node')).toEqual(['inference/graph.ts', 'inference/inference-child.cjs']);
    expect(loads('sharp')).toEqual(['files/decode.ts', 'files/encode.ts', 'pages/preview.ts', 'pixels/edit.ts', 'pixels/sharp-raw.ts']);
  });
});
