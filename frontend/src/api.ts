// Typed calls to the gateway (docs/API.md). Errors come back as problem+json and are raised as
// `ApiError` with the gateway's own `detail`; a route this gateway does not serve yet (the
// "planned" part of the API) is raised as `NotAvailableError`, so a page can say so calmly.
import { ApiError, NotAvailableError } from "./errors";

export type AssetKind = "dataset" | "model" | "algorithm";
export type Scope = "download" | "compute";

export interface Deployment {
  chain_id: number;
  rpc_url: string;
  contracts: Record<string, { address: string; block: number }>;
}

export interface Health {
  status: string;
  down: string[];
  chain: { ok: boolean; error?: string | null; details: { chain_id?: number; latest_block?: number } };
  ipfs: { ok: boolean; error?: string | null; details: Record<string, unknown> };
  database: { ok: boolean; error?: string | null; details: Record<string, unknown> };
}

export interface NonceOut {
  nonce: string;
  expires_at: string;
  domain: string;
  uri: string;
  chain_id: number;
}

export interface SessionOut {
  token: string;
  account: string;
  expires_at: string;
  token_type: "Bearer";
}

export interface Offer {
  offer_id: number;
  token: string;
  /** base units, as a decimal string */
  price: string;
  /** seconds; 0 = perpetual */
  duration: number;
  scope: Scope;
  active: boolean;
}

export interface AssetSummary {
  asset_id: number;
  kind: AssetKind;
  owner: string;
  dao: string | null;
  title: string;
  description: string;
  tags: string[];
  size: number | null;
  retired: boolean;
  version_count: number;
  published_block: number;
  offers: Offer[];
  sales: number;
  /** curators whose stake earns */
  stakers: number;
  /** earning stake, base units of the staking token */
  total_staked: string;
  /** stake warming up: it earns only after one unbonding delay */
  warming_staked: string;
  /** the curators' share of each sale in force now, in basis points */
  curator_share_bps: number;
  /** a cut of the curators' share, scheduled one unbonding delay ahead */
  pending_curator_share: { curator_share_bps: number; effective_at: string } | null;
}

export interface AssetVersion {
  index: number;
  content_cid: string;
  metadata_cid: string;
  block: number;
}

export interface TrustedAlgorithm {
  algorithm_id: number;
  /** the pinned version; 0 = the algorithm's latest */
  version: number;
}

/** A dataset's compute policy as its owner set it on chain (the catalog's copy). */
export interface ComputePolicy {
  any_algorithm: boolean;
  /** cap on a job's result in bytes; null = the provider's own */
  max_result_bytes: number | null;
  trusted_algorithms: TrustedAlgorithm[];
}

export interface AssetDetail extends AssetSummary {
  versions: AssetVersion[];
  metadata: Record<string, unknown> | null;
  stats: { sales: number; downloads: number; revenue: { token: string; amount: string }[] };
  /** datasets only (null or absent otherwise) */
  compute_policy?: ComputePolicy | null;
}

export interface CatalogPage {
  items: AssetSummary[];
  total: number;
  page: number;
  page_size: number;
}

export interface CatalogQuery {
  kind?: AssetKind | "";
  tag?: string;
  owner?: string;
  dao?: string;
  q?: string;
  sort?: "newest" | "oldest" | "sales" | "staked";
  page?: number;
  page_size?: number;
}

export interface LicenseOut {
  asset_id: number;
  scope: Scope;
  expires_at: string | null;
  source: "purchase" | "grant";
}

/** GET /v1/accounts/{address}/licence-tokens: one licence token (LicenseTokens, ERC-1155) held. */
export interface LicenceTokenOut {
  token_id: string;
  asset_id: number;
  title: string;
  scope: Scope;
  transferable: boolean;
  expires_at: string | null;
  expires_at_unix: number | null;
}

export type JobStatus =
  | "queued" | "accepted" | "running" | "submitted" | "disputed" | "failed" | "expired" | "finalized" | "refunded";

export interface ComputeJob {
  job_id: number;
  status: JobStatus;
  reason: string | null;
  result_cid: string | null;
  result_hash: string | null;
  buyer: string;
  provider: string;
  dataset_id: number;
  algorithm_id: number | null;
  deadline: number;
  tx_hash: string | null;
}

/** GET /v1/gateway: who this gateway is; `provider` is its compute provider account, if any. */
export interface GatewayInfo {
  public_key: string;
  url: string;
  chain_id: number;
  registry: string | null;
  provider: string | null;
}

/** GET /v1/providers: a compute provider as the indexer saw it register (docs/API.md). */
export interface ProviderOut {
  address: string;
  endpoint: string;
  token: string;
  price: string;
  stake: string;
  active: boolean;
  jobs: number;
  /** with `providers(true)`: the key its gateway announces, null if unchecked (docs/API.md) */
  public_key?: string | null;
}

export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

export interface RequestOptions {
  method?: "GET" | "POST";
  body?: unknown;
  auth?: boolean;
  signal?: AbortSignal;
  /** Set for planned endpoints: a missing route becomes NotAvailableError(what). */
  planned?: string;
  headers?: Record<string, string>;
}

/** A route the gateway does not have answers 404 with Starlette's bare "Not Found". */
function isMissingRoute(status: number, detail: string): boolean {
  return (status === 404 && detail.trim().toLowerCase() === "not found") || status === 405;
}

export async function problemFrom(response: Response): Promise<ApiError> {
  let body: Record<string, unknown> = {};
  try {
    const text = await response.text();
    body = text ? (JSON.parse(text) as Record<string, unknown>) : {};
  } catch {
    body = {};
  }
  const detail =
    typeof body.detail === "string" && body.detail
      ? body.detail
      : typeof body.title === "string" && body.title
        ? body.title
        : `the gateway answered ${response.status} ${response.statusText}`.trim();
  const hint = typeof body.hint === "string" ? body.hint : undefined;
  const type = typeof body.type === "string" ? body.type : "about:blank";
  return new ApiError(response.status, detail, type, hint, body);
}

export function catalogSearch(query: CatalogQuery): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined || value === null || value === "") continue;
    params.set(key, String(value));
  }
  const text = params.toString();
  return text ? `?${text}` : "";
}

export class GatewayApi {
  constructor(
    readonly baseUrl: string,
    private readonly getToken: () => string | null = () => null,
    private readonly fetcher: FetchLike = (input, init) => fetch(input, init),
  ) {}

  url(path: string): string {
    return `${this.baseUrl.replace(/\/$/, "")}${path}`;
  }

  /** Headers that authenticate a request (the session token), for raw fetches (downloads). */
  authHeaders(): Record<string, string> {
    const token = this.getToken();
    return token ? { Authorization: `Bearer ${token}` } : {};
  }

  async request<T>(path: string, options: RequestOptions = {}): Promise<T> {
    const headers: Record<string, string> = { Accept: "application/json", ...options.headers };
    if (options.body !== undefined) headers["Content-Type"] = "application/json";
    if (options.auth) Object.assign(headers, this.authHeaders());
    let response: Response;
    try {
      response = await this.fetcher(this.url(path), {
        method: options.method ?? "GET",
        headers,
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
        signal: options.signal,
      });
    } catch (error) {
      if ((error as Error)?.name === "AbortError") throw error;
      throw new ApiError(0, `Could not reach the gateway at ${this.baseUrl}.`, "network", "Check that it is running.");
    }
    if (!response.ok) {
      const problem = await problemFrom(response);
      if (options.planned && isMissingRoute(problem.status, problem.detail)) {
        throw new NotAvailableError(options.planned);
      }
      throw problem;
    }
    return (await response.json()) as T;
  }

  health(): Promise<Health> {
    // 503 still carries the health document: read it either way
    return this.fetcher(this.url("/healthz"), { headers: { Accept: "application/json" } }).then(
      async (response) => {
        if (response.status === 200 || response.status === 503) return (await response.json()) as Health;
        throw await problemFrom(response);
      },
    );
  }

  deployment(): Promise<Deployment> {
    return this.request<Deployment>("/v1/deployment");
  }

  nonce(): Promise<NonceOut> {
    return this.request<NonceOut>("/v1/auth/nonce");
  }

  signIn(message: string, signature: string): Promise<SessionOut> {
    return this.request<SessionOut>("/v1/auth/siwe", { method: "POST", body: { message, signature } });
  }

  me(): Promise<{ account: string }> {
    return this.request<{ account: string }>("/v1/auth/me", { auth: true });
  }

  assets(query: CatalogQuery = {}, signal?: AbortSignal): Promise<CatalogPage> {
    return this.request<CatalogPage>(`/v1/assets${catalogSearch(query)}`, { planned: "The catalog", signal });
  }

  asset(assetId: number | bigint): Promise<AssetDetail> {
    return this.request<AssetDetail>(`/v1/assets/${assetId}`, { planned: "The asset page" });
  }

  myLicenses(): Promise<LicenseOut[]> {
    return this.request<LicenseOut[]>("/v1/me/licenses", { auth: true, planned: "The list of your licenses" });
  }

  /** Public: token holdings are public on chain. */
  licenceTokens(address: string): Promise<LicenceTokenOut[]> {
    return this.request<LicenceTokenOut[]>(`/v1/accounts/${address}/licence-tokens`, { planned: "The list of your licence tokens" });
  }

  contentUrl(assetId: number | bigint, version?: number): string {
    const query = version === undefined ? "" : `?version=${version}`;
    return this.url(`/v1/assets/${assetId}/content${query}`);
  }

  /** The raw bytes of a version's metadata document (the caller checks them against the chain). */
  async versionMetadata(assetId: number | bigint, version: number): Promise<Uint8Array> {
    let response: Response;
    try {
      response = await this.fetcher(this.url(`/v1/assets/${assetId}/versions/${version}/metadata`));
    } catch {
      throw new ApiError(0, `Could not reach the gateway at ${this.baseUrl}.`, "network", "Check that it is running.");
    }
    if (!response.ok) throw await problemFrom(response);
    return new Uint8Array(await response.arrayBuffer());
  }

  gatewayInfo(): Promise<GatewayInfo> {
    return this.request<GatewayInfo>("/v1/gateway");
  }

  providers(keys = false): Promise<{ items: ProviderOut[] }> {
    return this.request<{ items: ProviderOut[] }>(keys ? "/v1/providers?keys=true" : "/v1/providers",
      { planned: "The list of compute providers" });
  }

  computeJob(jobId: number | bigint): Promise<ComputeJob> {
    return this.request<ComputeJob>(`/v1/jobs/${jobId}`, { auth: true, planned: "Compute job status" });
  }

  computeResultUrl(jobId: number | bigint): string {
    return this.url(`/v1/jobs/${jobId}/result`);
  }

  /** The job's plaintext result (its buyer only), as bytes. */
  async computeResult(jobId: number | bigint): Promise<Uint8Array> {
    let response: Response;
    try {
      response = await this.fetcher(this.computeResultUrl(jobId), { headers: this.authHeaders() });
    } catch {
      throw new ApiError(0, `Could not reach the gateway at ${this.baseUrl}.`, "network", "Check that it is running.");
    }
    if (!response.ok) throw await problemFrom(response);
    return new Uint8Array(await response.arrayBuffer());
  }
}

/** Where the gateway is: `?gateway=` for development, else the origin that served the dApp. */
export function gatewayBaseUrl(location: { origin: string; search: string }): string {
  const override = new URLSearchParams(location.search).get("gateway");
  return override || location.origin;
}
