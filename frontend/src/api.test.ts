import { describe, expect, it } from "vitest";
import { catalogSearch, GatewayApi, gatewayBaseUrl } from "./api";
import { ApiError, NotAvailableError } from "./errors";

describe("gateway API", () => {
  it("builds catalog queries from the filters that are set", () => {
    expect(catalogSearch({ kind: "dataset", tag: "", q: "weather data", page: 2 })).toBe("?kind=dataset&q=weather+data&page=2");
    expect(catalogSearch({})).toBe("");
  });

  it("sends the bearer token only where asked", async () => {
    const seen: Record<string, string>[] = [];
    const api = new GatewayApi("http://gw/", () => "tok", async (_url, init) => {
      seen.push(init?.headers as Record<string, string>);
      return Response.json([]);
    });
    await api.myLicenses();
    await api.assets({});
    expect(seen[0]!.Authorization).toBe("Bearer tok");
    expect(seen[1]!.Authorization).toBeUndefined();
    expect(api.contentUrl(3, 2)).toBe("http://gw/v1/assets/3/content?version=2");
  });

  it("raises problem+json as ApiError and a missing planned route as NotAvailableError", async () => {
    const problem = new GatewayApi("http://gw", () => null, async () =>
      new Response(JSON.stringify({ type: "https://x/problems/not-found", detail: "asset 9 is not in the catalog", hint: "wait" }), { status: 404 }));
    await expect(problem.asset(9)).rejects.toMatchObject({ status: 404, detail: "asset 9 is not in the catalog", hint: "wait", code: "not-found" });
    const missing = new GatewayApi("http://gw", () => null, async () => new Response(JSON.stringify({ detail: "Not Found" }), { status: 404 }));
    await expect(missing.computeJob(1)).rejects.toBeInstanceOf(NotAvailableError);
    const down = new GatewayApi("http://gw", () => null, async () => { throw new TypeError("Failed to fetch"); });
    await expect(down.deployment()).rejects.toBeInstanceOf(ApiError);
  });

  it("reads a job's result with the session, and its problem when there is none yet", async () => {
    const seen: Record<string, string>[] = [];
    const api = new GatewayApi("http://gw", () => "tok", async (url, init) => {
      seen.push(init?.headers as Record<string, string>);
      return url.endsWith("/v1/jobs/7/result")
        ? new Response("rows=3\n")
        : new Response(JSON.stringify({ type: "https://x/problems/result-not-ready", detail: "job 8 has no result yet" }), { status: 409 });
    });
    expect(new TextDecoder().decode(await api.computeResult(7))).toBe("rows=3\n");
    expect(seen[0]!.Authorization).toBe("Bearer tok");
    await expect(api.computeResult(8)).rejects.toMatchObject({ status: 409, code: "result-not-ready" });
  });

  it("finds the gateway: ?gateway= or the page's origin", () => {
    expect(gatewayBaseUrl({ origin: "http://a", search: "" })).toBe("http://a");
    expect(gatewayBaseUrl({ origin: "http://a", search: "?gateway=http://b:8000" })).toBe("http://b:8000");
  });
});
