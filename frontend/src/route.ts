// Hash routes: `#/`, `#/asset/7`, `#/licenses`, `#/payouts`, `#/dao`, `#/dao/new`, `#/compute`, `#/channels`, `#/cart`, `#/publish`.
export type RouteName = "catalog" | "asset" | "licenses" | "payouts" | "dao" | "dao-new" | "compute" | "channels" | "cart" | "publish";

export interface Route {
  name: RouteName;
  params: Record<string, string>;
}

/** `/asset/7?x=1` → {name: "asset", params: {id: "7", x: "1"}}; anything unknown is the catalog. */
export function routeOf(path: string): Route {
  const [pathname = "/", search = ""] = path.split("?", 2);
  const params: Record<string, string> = Object.fromEntries(new URLSearchParams(search));
  const parts = pathname.split("/").filter(Boolean);
  if (parts[0] === "asset" && parts[1] && /^\d+$/.test(parts[1])) return { name: "asset", params: { ...params, id: parts[1] } };
  if (parts.length === 2 && parts[0] === "dao" && parts[1] === "new") return { name: "dao-new", params };
  if (parts.length === 1 && ["licenses", "payouts", "dao", "compute", "channels", "cart", "publish"].includes(parts[0]!)) {
    return { name: parts[0] as RouteName, params };
  }
  return { name: "catalog", params };
}

/** The hash of the catalog with a query: {kind: "model", page: 2} → `#/?kind=model&page=2`. */
export function catalogHash(query: Record<string, string | number | undefined>): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined && value !== "" && !(key === "page" && Number(value) === 1)) params.set(key, String(value));
  }
  const text = params.toString();
  return text ? `#/?${text}` : "#/";
}
