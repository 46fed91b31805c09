import { describe, expect, it } from "vitest";
import { catalogHash, routeOf } from "./route";

describe("routes", () => {
  it("maps hashes to pages", () => {
    expect(routeOf("/")).toEqual({ name: "catalog", params: {} });
    expect(routeOf("/?kind=model&q=x")).toEqual({ name: "catalog", params: { kind: "model", q: "x" } });
    expect(routeOf("/asset/12")).toEqual({ name: "asset", params: { id: "12" } });
    expect(routeOf("/asset/abc").name).toBe("catalog");
    expect(routeOf("/dao?address=0x1")).toEqual({ name: "dao", params: { address: "0x1" } });
    expect(routeOf("/licenses").name).toBe("licenses");
    expect(routeOf("/cart").name).toBe("cart");
    expect(routeOf("/dao/new").name).toBe("dao-new");
    expect(routeOf("/dao/other").name).toBe("catalog");
    expect(routeOf("/nowhere").name).toBe("catalog");
  });

  it("builds catalog links without empty filters or page 1", () => {
    expect(catalogHash({ q: "", kind: "model", page: 1 })).toBe("#/?kind=model");
    expect(catalogHash({ tag: "nlp", page: 3 })).toBe("#/?tag=nlp&page=3");
    expect(catalogHash({})).toBe("#/");
  });
});
