/** A parsed HTTP response for black-box assertions. */
export interface Reply {
  status: number;
  headers: Headers;
  // Black-box tests inspect arbitrary JSON.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
  text: string;
}

export interface RequestOptions {
  method?: string;
  headers?: Record<string, string>;
  /** JSON-encoded unless a string is given (sent as is). */
  body?: unknown;
  token?: string;
}

/** Sends one request to the shop and parses the JSON body when there is one. */
export async function request(
  baseUrl: string,
  path: string,
  options: RequestOptions = {},
): Promise<Reply> {
  const headers: Record<string, string> = { ...options.headers };
  let body: string | undefined;
  if (options.body !== undefined) {
    body = typeof options.body === "string" ? options.body : JSON.stringify(options.body);
    headers["content-type"] ??= "application/json";
  }
  if (options.token) headers["authorization"] = `Bearer ${options.token}`;
  const res = await fetch(new URL(path, baseUrl), {
    method: options.method ?? (body === undefined ? "GET" : "POST"),
    headers,
    ...(body === undefined ? {} : { body }),
  });
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON: callers look at `text`
  }
  return { status: res.status, headers: res.headers, body: parsed, text };
}

let counter = 0;
/** A unique email for a test user. */
export function uniqueEmail(prefix = "user"): string {
  counter += 1;
  return `${prefix}.${process.pid}.${Date.now()}.${counter}@example.com`;
}

/** Registers a user and returns its id, credentials and a token. */
export async function signUp(baseUrl: string, name = "Test User") {
  const email = uniqueEmail();
  const password = "correct horse battery";
  const created = await request(baseUrl, "/api/v1/users", { body: { email, name, password } });
  if (created.status !== 201) throw new Error(`sign-up failed: ${created.status} ${created.text}`);
  const token = await request(baseUrl, "/api/v1/auth/token", { body: { email, password } });
  if (token.status !== 200) throw new Error(`token failed: ${token.status} ${token.text}`);
  return {
    id: created.body.data.id as string,
    email,
    password,
    token: token.body.accessToken as string,
  };
}
