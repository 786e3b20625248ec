import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

/**
 * DESIGN.md convention 1: no import cycles, within a package or between packages. Lists every
 * cycle among the repository's TypeScript modules and exits 1 if there is one. Workspace packages
 * (`@plexus/x`) resolve to their public entry, so a cycle through two packages' indexes counts.
 * Type-only imports count too: a cycle of types is still two modules that cannot be understood,
 * tested or moved apart. Dynamic `import()` does not: loading on demand is how a cycle is broken.
 *
 * A script of our own instead of eslint-plugin-import-x: that plugin's resolver is a native addon,
 * which DESIGN.md rules out (and the registry here lacks its other platforms' binaries).
 */

const root = resolve(import.meta.dirname, "..");

/** `@plexus/x` → the file its `exports["."]` names. */
function workspaceEntries(): Map<string, string> {
  const { workspaces } = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as {
    workspaces: string[];
  };
  const entries = new Map<string, string>();
  for (const pattern of workspaces) {
    const dirs = pattern.endsWith("/*")
      ? readdirSync(join(root, pattern.slice(0, -2))).map((name) =>
          join(root, pattern.slice(0, -2), name),
        )
      : [join(root, pattern)];
    for (const dir of dirs) {
      const manifest = join(dir, "package.json");
      if (!existsSync(manifest)) continue;
      const pkg = JSON.parse(readFileSync(manifest, "utf8")) as {
        name: string;
        exports?: Record<string, string>;
      };
      const entry = pkg.exports?.["."];
      if (entry !== undefined) entries.set(pkg.name, resolve(dir, entry));
    }
  }
  return entries;
}

// Static imports and re-exports, `import type` included; comments may hold examples, so they go.
const specifierPattern = /(?:^|[\s;])(?:import|export)\s[^;]*?from\s*["']([^"']+)["']/g;
const sideEffectPattern = /(?:^|[\s;])import\s*["']([^"']+)["']/g;

function importsOf(source: string): string[] {
  const code = source.replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:"'`])\/\/.*$/gm, "$1");
  return [...code.matchAll(specifierPattern), ...code.matchAll(sideEffectPattern)].map(
    (match) => match[1]!,
  );
}

function buildGraph(files: readonly string[]): Map<string, string[]> {
  const entries = workspaceEntries();
  const known = new Set(files);
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const targets: string[] = [];
    for (const specifier of importsOf(readFileSync(file, "utf8"))) {
      const target = specifier.startsWith(".")
        ? resolve(dirname(file), specifier)
        : entries.get(specifier);
      if (target !== undefined && known.has(target)) targets.push(target);
    }
    graph.set(file, targets);
  }
  return graph;
}

/** Tarjan's strongly connected components: every component of two or more is a cycle. */
function cycles(graph: Map<string, string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];

  function visit(node: string): void {
    index.set(node, next);
    low.set(node, next);
    next++;
    stack.push(node);
    onStack.add(node);
    for (const target of graph.get(node) ?? []) {
      if (!index.has(target)) {
        visit(target);
        low.set(node, Math.min(low.get(node)!, low.get(target)!));
      } else if (onStack.has(target)) {
        low.set(node, Math.min(low.get(node)!, index.get(target)!));
      }
    }
    if (low.get(node) !== index.get(node)) return;
    const component: string[] = [];
    let member: string;
    do {
      member = stack.pop()!;
      onStack.delete(member);
      component.push(member);
    } while (member !== node);
    const selfImport = graph.get(node)?.includes(node) ?? false;
    if (component.length > 1 || selfImport) found.push(component.sort());
  }

  for (const node of graph.keys()) if (!index.has(node)) visit(node);
  return found;
}

const files = execFileSync("git", ["ls-files", "--cached", "--others", "--exclude-standard"], {
  cwd: root,
  encoding: "utf8",
})
  .split("\n")
  .filter((file) => file.endsWith(".ts") && !file.endsWith(".d.ts"))
  .map((file) => join(root, file))
  .filter((file) => existsSync(file));

const found = cycles(buildGraph(files));
if (found.length === 0) {
  process.stdout.write(`import cycles: none among ${files.length} modules\n`);
} else {
  process.stderr.write(`import cycles: ${found.length} found (DESIGN.md convention 1)\n`);
  for (const component of found) {
    process.stderr.write(`- ${component.map((file) => relative(root, file)).join("\n  ")}\n`);
  }
  process.exitCode = 1;
}
