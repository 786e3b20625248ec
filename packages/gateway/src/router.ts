import { Code, PlexusError } from "@plexus/core";

/** A found route: its value, its template (the metrics label) and its decoded path parameters. */
export interface RouteMatch<T> {
  readonly kind: "found";
  readonly value: T;
  readonly template: string;
  readonly params: Record<string, string>;
}

/** The path exists but not for this method: answer 405 with `Allow`. */
export interface MethodNotAllowed<T> {
  readonly kind: "method-not-allowed";
  /** Methods the path answers, sorted, with HEAD implied by GET and OPTIONS always allowed. */
  readonly allow: readonly string[];
  readonly template: string;
  readonly params: Record<string, string>;
  /** The values registered on the path, e.g. to apply a route's deprecation headers to a 405. */
  readonly values: readonly T[];
}

export interface NotFound {
  readonly kind: "not-found";
}

export type RouteLookup<T> = RouteMatch<T> | MethodNotAllowed<T> | NotFound;

interface Node<T> {
  readonly statics: Map<string, Node<T>>;
  param: { readonly name: string; readonly node: Node<T> } | undefined;
  readonly methods: Map<string, T>;
  template: string | undefined;
}

/**
 * A small segment-trie router: static segments and `:param` segments, matched on the
 * percent-decoded path. Static segments win over parameters (`/users/me` before `/users/:id`),
 * with backtracking so `POST /users/me` still reaches `POST /users/:id` when only GET has a
 * static `/users/me`. No wildcards or regexes: every route has one template, which is what
 * metrics label requests by.
 */
export interface Router<T> {
  /** Registers `value` for `method` on `template` (`/api/v1/users/:id`). Throws on a duplicate. */
  add(method: string, template: string, value: T): void;
  /**
   * Finds the route for `method` and a raw (still percent-encoded) `path`. Throws a
   * `BAD_REQUEST` PlexusError when a segment is not valid percent-encoding.
   */
  find(method: string, path: string): RouteLookup<T>;
}

const notFound: NotFound = { kind: "not-found" };

function newNode<T>(): Node<T> {
  return { statics: new Map(), param: undefined, methods: new Map(), template: undefined };
}

/** Creates an empty {@link Router}. */
export function createRouter<T>(): Router<T> {
  const root = newNode<T>();

  function add(method: string, template: string, value: T): void {
    if (!template.startsWith("/"))
      throw new Error(`route template must start with "/": ${template}`);
    const upper = method.toUpperCase();
    let node = root;
    const names = new Set<string>();
    for (const segment of splitTemplate(template)) {
      if (segment.startsWith(":")) {
        const name = segment.slice(1);
        if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
          throw new Error(`bad parameter name "${name}" in route ${template}`);
        }
        if (names.has(name)) throw new Error(`duplicate parameter "${name}" in route ${template}`);
        names.add(name);
        if (node.param === undefined) node.param = { name, node: newNode() };
        else if (node.param.name !== name) {
          throw new Error(
            `route ${template} names parameter ":${name}" where another route has ":${node.param.name}"`,
          );
        }
        node = node.param.node;
      } else {
        let next = node.statics.get(segment);
        if (next === undefined) {
          next = newNode();
          node.statics.set(segment, next);
        }
        node = next;
      }
    }
    if (node.methods.has(upper)) throw new Error(`duplicate route ${upper} ${template}`);
    node.methods.set(upper, value);
    node.template = template;
  }

  function find(method: string, path: string): RouteLookup<T> {
    const decoded = decodeSegments(path);
    if (decoded === undefined) return notFound;
    const segments: string[] = decoded;
    const upper = method.toUpperCase();
    const params: Record<string, string> = {};
    let firstWithMethods: { node: Node<T>; params: Record<string, string> } | undefined;

    // Depth-first, statics before the parameter; the first node with a value for the method wins.
    function walk(node: Node<T>, index: number): Node<T> | undefined {
      if (index === segments.length) {
        if (node.methods.size === 0) return undefined;
        if (lookupMethod(node, upper) !== undefined) return node;
        firstWithMethods ??= { node, params: { ...params } };
        return undefined;
      }
      const segment = segments[index]!;
      const child = node.statics.get(segment);
      if (child !== undefined) {
        const hit = walk(child, index + 1);
        if (hit !== undefined) return hit;
      }
      if (node.param !== undefined && segment !== "") {
        params[node.param.name] = segment;
        const hit = walk(node.param.node, index + 1);
        if (hit !== undefined) return hit;
        delete params[node.param.name];
      }
      return undefined;
    }

    const hit = walk(root, 0);
    if (hit !== undefined) {
      return {
        kind: "found",
        value: lookupMethod(hit, upper)!,
        template: hit.template!,
        params: { ...params },
      };
    }
    if (firstWithMethods !== undefined) {
      const { node, params: p } = firstWithMethods;
      return {
        kind: "method-not-allowed",
        allow: allowedMethods(node),
        template: node.template!,
        params: p,
        values: [...node.methods.values()],
      };
    }
    return notFound;
  }

  return { add, find };
}

function lookupMethod<T>(node: Node<T>, method: string): T | undefined {
  const direct = node.methods.get(method);
  if (direct !== undefined) return direct;
  // HEAD is GET without a body (RFC 9110 §9.3.2); node:http drops the body itself.
  return method === "HEAD" ? node.methods.get("GET") : undefined;
}

function allowedMethods(node: Node<unknown>): string[] {
  const allow = new Set(node.methods.keys());
  if (allow.has("GET")) allow.add("HEAD");
  allow.add("OPTIONS");
  return [...allow].sort();
}

function splitTemplate(template: string): string[] {
  return template === "/" ? [] : template.slice(1).split("/");
}

/**
 * Splits and percent-decodes a raw path. `/` is the empty list; a path not starting with `/`
 * matches nothing. An encoded slash (`%2F`) stays inside its segment, so a parameter may hold one.
 */
function decodeSegments(path: string): string[] | undefined {
  if (!path.startsWith("/")) return undefined;
  if (path === "/") return [];
  const raw = path.slice(1).split("/");
  const out: string[] = new Array<string>(raw.length);
  for (let i = 0; i < raw.length; i++) {
    const segment = raw[i]!;
    if (!segment.includes("%")) {
      out[i] = segment;
      continue;
    }
    try {
      out[i] = decodeURIComponent(segment);
    } catch (error) {
      throw new PlexusError(Code.InvalidArgument, "malformed percent-encoding in path", {
        reason: "BAD_REQUEST",
        cause: error,
      });
    }
  }
  return out;
}
