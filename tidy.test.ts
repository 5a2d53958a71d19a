// Tidy: the repository's structural rules (style.md 10.2, 10.8), checked on every test run.
//
// Modelled on TigerBeetle's tidy.zig: line length, function length, banned globals per folder,
// import rules between folders, and commented-out code. Generated files are exempt.

import { readFileSync, readdirSync } from 'node:fs';
import { join, relative, dirname, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = dirname(fileURLToPath(import.meta.url));
const LINE_COLUMNS_MAX = 100;
const FUNCTION_LINES_MAX = 70;
const SOURCE_ROOTS = [
  'assembly/src',
  'assembly/host',
  'assembly/tools',
  'hal/src',
  'firmware/src',
  'host-sim/src',
  'depot/src',
  'bench',
];
const GENERATED = new Set(['assembly/host/abi.gen.ts']);

function listTs(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory()) out.push(...listTs(path));
    else if (/\.(ts|mjs)$/.test(entry.name) && !entry.name.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

const FILES = SOURCE_ROOTS.flatMap(listTs).filter((f) => !GENERATED.has(f));

function parse(file: string): ts.SourceFile {
  return ts.createSourceFile(
    file,
    readFileSync(join(ROOT, file), 'utf8'),
    ts.ScriptTarget.Latest,
    true,
  );
}

/** Folders whose code must take time and randomness from injected ports (style.md 10.2). */
const NO_AMBIENT_TIME = [
  'assembly/src',
  'firmware/src/app',
  'hal/src/ports',
  'hal/src/pn532',
  'hal/src/display',
  'hal/src/buzzer',
];
const BANNED_GLOBALS = new Set(['Date', 'setTimeout', 'setInterval', 'performance']);

/** Import rules: a file under the key may not import from these folders. */
const FORBIDDEN_IMPORTS: Record<string, string[]> = {
  'assembly/host': ['hal', 'firmware', 'host-sim', 'bench', 'depot'],
  hal: ['assembly', 'firmware', 'host-sim', 'bench', 'depot'],
  'firmware/src': ['host-sim', 'bench', 'depot'],
  'firmware/src/app': [
    'hal/src/pn532',
    'hal/src/serial',
    'hal/src/display',
    'hal/src/buzzer',
    'hal/src/storage',
    'firmware/src/boards',
  ],
  'host-sim/src': ['hal/src/serial', 'firmware/src/boards', 'bench'],
  // The back office reads firmware's record and parameter formats, never a board or a sim.
  'depot/src': ['host-sim', 'bench', 'firmware/src/boards', 'hal/src/serial'],
};

/**
 * Kernel layers (assembly/README.md): a folder of assembly/src may import only its own folder
 * and folders of a lower rank. Equal ranks are peers that never import each other: the two
 * card applications (qpboc, jtt978) above all, and the codecs beside crypto.
 */
const KERNEL_LAYERS: Record<string, number> = {
  util: 0,
  status: 0,
  iso7816: 1,
  iso8825: 1,
  crypto: 1,
  emv: 2,
  entry: 3,
  qpboc: 4,
  jtt978: 4,
  abi: 5,
};

/** The kernel folder of a path under assembly/src, or null. */
function kernelFolder(path: string): string | null {
  const match = /^assembly\/src\/([^/]+)\//.exec(path);
  return match === null ? null : (match[1] ?? null);
}

function under(file: string, folder: string): boolean {
  return file === folder || file.startsWith(`${folder}/`);
}

describe('tidy', () => {
  it(`keeps lines within ${LINE_COLUMNS_MAX} columns`, () => {
    const long: string[] = [];
    for (const file of FILES) {
      readFileSync(join(ROOT, file), 'utf8')
        .split('\n')
        .forEach((line, i) => {
          if ([...line].length > LINE_COLUMNS_MAX)
            long.push(`${file}:${i + 1} (${[...line].length})`);
        });
    }
    expect(long).toEqual([]);
  });

  it(`keeps functions within ${FUNCTION_LINES_MAX} lines`, () => {
    const long: string[] = [];
    for (const file of FILES) {
      const source = parse(file);
      const visit = (node: ts.Node): void => {
        if (ts.isFunctionLike(node) && 'body' in node && node.body !== undefined) {
          const start = source.getLineAndCharacterOfPosition(node.getStart()).line;
          const end = source.getLineAndCharacterOfPosition(node.getEnd()).line;
          if (end - start + 1 > FUNCTION_LINES_MAX)
            long.push(`${file}:${start + 1} (${end - start + 1} lines)`);
        }
        ts.forEachChild(node, visit);
      };
      visit(source);
    }
    expect(long).toEqual([]);
  });

  it('uses no ambient time or randomness where ports must be injected', () => {
    const hits: string[] = [];
    for (const file of FILES.filter((f) => NO_AMBIENT_TIME.some((d) => under(f, d)))) {
      const source = parse(file);
      const visit = (node: ts.Node): void => {
        if (ts.isIdentifier(node) && BANNED_GLOBALS.has(node.text)) {
          const parent = node.parent;
          const isMember = ts.isPropertyAccessExpression(parent) && parent.name === node;
          if (!isMember) hits.push(`${file}: ${node.text}`);
        }
        if (ts.isPropertyAccessExpression(node) && node.getText() === 'Math.random')
          hits.push(`${file}: Math.random`);
        ts.forEachChild(node, visit);
      };
      visit(source);
    }
    expect(hits).toEqual([]);
  });

  it('imports only across the allowed folder boundaries', () => {
    const bad: string[] = [];
    for (const file of FILES) {
      const rules = Object.entries(FORBIDDEN_IMPORTS).filter(([folder]) => under(file, folder));
      if (rules.length === 0) continue;
      for (const statement of parse(file).statements) {
        if (!ts.isImportDeclaration(statement) && !ts.isExportDeclaration(statement)) continue;
        const spec = statement.moduleSpecifier;
        if (spec === undefined || !ts.isStringLiteral(spec) || !spec.text.startsWith('.')) continue;
        const target = relative(ROOT, resolve(ROOT, dirname(file), spec.text))
          .split(sep)
          .join('/');
        for (const [, forbidden] of rules) {
          for (const folder of forbidden) {
            if (under(target, folder)) bad.push(`${file} imports ${spec.text}`);
          }
        }
      }
    }
    expect(bad).toEqual([]);
  });

  it('keeps the kernel layers: lower never imports higher, applications never each other', () => {
    const bad: string[] = [];
    for (const file of FILES.filter((f) => kernelFolder(f) !== null)) {
      const folder = kernelFolder(file) ?? '';
      const rank = KERNEL_LAYERS[folder];
      if (rank === undefined) {
        bad.push(`${file}: folder ${folder} has no kernel layer`);
        continue;
      }
      for (const statement of parse(file).statements) {
        if (!ts.isImportDeclaration(statement) && !ts.isExportDeclaration(statement)) continue;
        const spec = statement.moduleSpecifier;
        if (spec === undefined || !ts.isStringLiteral(spec)) continue;
        const target = relative(ROOT, resolve(ROOT, dirname(file), spec.text))
          .split(sep)
          .join('/');
        const targetFolder = kernelFolder(`${target}.ts`);
        if (targetFolder === null) {
          bad.push(`${file} imports ${spec.text} from outside assembly/src`);
          continue;
        }
        if (targetFolder === folder) continue;
        const targetRank = KERNEL_LAYERS[targetFolder];
        if (targetRank === undefined || targetRank >= rank) {
          bad.push(`${file} (${folder}) imports ${spec.text} (${targetFolder})`);
        }
      }
    }
    expect(bad).toEqual([]);
  });

  it('has no commented-out code', () => {
    const hits: string[] = [];
    const codeLike = new RegExp(
      '^\\s*//\\s*(?:(?:const|let|var)\\s+\\w+\\s*[=:]|(?:if|for|while)\\s*\\(|' +
        'return\\b.*;\\s*$|import\\s.*from\\s|export\\s+(?:const|function|class)\\b|.*[;{}]\\s*$)',
    );
    for (const file of FILES) {
      readFileSync(join(ROOT, file), 'utf8')
        .split('\n')
        .forEach((line, i) => {
          if (codeLike.test(line)) hits.push(`${file}:${i + 1}: ${line.trim()}`);
        });
    }
    expect(hits).toEqual([]);
  });
});
