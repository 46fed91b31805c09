// The catalog: GET /v1/assets with kind / tag / owner / text filters and paging, from the URL
// hash so a filtered page can be linked and reloaded.
import type { AssetKind, AssetSummary, CatalogQuery } from "../api";
import { formatBytes, formatDuration, shortAddress } from "../format";
import { offerPriceText } from "../offers";
import { catalogHash } from "../route";
import { errorNotice, h, notice, replace } from "../ui";
import type { PageContext } from "./page";

const KINDS: (AssetKind | "")[] = ["", "dataset", "model", "algorithm"];

export function queryFromParams(params: Record<string, string>): CatalogQuery {
  const kind = KINDS.includes(params.kind as AssetKind) ? (params.kind as AssetKind) : "";
  const page = Math.max(1, Number.parseInt(params.page ?? "1", 10) || 1);
  return { kind, tag: params.tag ?? "", owner: params.owner ?? "", dao: params.dao ?? "", q: params.q ?? "", page, page_size: 12 };
}

export async function renderCatalog({ app, root, params, isCurrent }: PageContext): Promise<void> {
  const query = queryFromParams(params);
  const input = (name: string, value: string, placeholder: string) =>
    h("input", { name, value, placeholder, "aria-label": placeholder });
  const kind = h("select", { name: "kind", "aria-label": "kind" },
    KINDS.map((value) => h("option", { value, selected: value === query.kind }, value || "any kind")));
  const text = input("q", query.q ?? "", "search title or description");
  const tag = input("tag", query.tag ?? "", "tag");
  const owner = input("owner", query.owner ?? "", "owner 0x…");
  const form = h("form", { class: "filters", testid: "filters" }, text, kind, tag, owner, h("button", { type: "submit" }, "Search"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    window.location.hash = catalogHash({ q: text.value.trim(), kind: kind.value, tag: tag.value.trim(), owner: owner.value.trim() });
  });
  const results = h("section", { class: "results", testid: "catalog" }, notice("info", "Loading the catalog…"));
  replace(root, h("h1", {}, "Catalog"), form, results);

  try {
    const page = await app.api.assets(query);
    if (!isCurrent()) return;
    if (page.items.length === 0) {
      replace(results, notice("empty", "No assets match.", query.q || query.tag || query.kind || query.owner ? "Clear the filters to see everything." : "Nothing has been published yet."));
      return;
    }
    const pages = Math.max(1, Math.ceil(page.total / page.page_size));
    const link = (target: number, label: string) =>
      h("a", { href: catalogHash({ ...query, page: target }), class: "page-link" }, label);
    replace(
      results,
      h("p", { class: "muted", testid: "catalog-total" }, `${page.total} asset${page.total === 1 ? "" : "s"}`),
      h("div", { class: "cards" }, page.items.map(card)),
      pages > 1
        ? h("nav", { class: "pager" },
            page.page > 1 ? link(page.page - 1, "← previous") : null,
            h("span", {}, ` page ${page.page} of ${pages} `),
            page.page < pages ? link(page.page + 1, "next →") : null)
        : null,
    );
  } catch (error) {
    if (isCurrent()) replace(results, errorNotice(error));
  }
}

function card(asset: AssetSummary): HTMLElement {
  const offer = asset.offers.find((item) => item.active);
  return h("article", { class: "card", testid: "asset-card", "data-asset": asset.asset_id },
    h("h2", {}, h("a", { href: `#/asset/${asset.asset_id}` }, asset.title || `Asset ${asset.asset_id}`)),
    h("p", { class: "meta" },
      h("span", { class: `kind kind-${asset.kind}` }, asset.kind),
      ` · ${formatBytes(asset.size)} · v${asset.version_count} · by ${shortAddress(asset.owner)}`),
    asset.description ? h("p", { class: "description" }, asset.description) : null,
    asset.tags.length ? h("p", { class: "tags" }, asset.tags.map((t) => h("a", { class: "tag", href: catalogHash({ tag: t }) }, t))) : null,
    h("p", { class: "meta" },
      offer ? `${offerPriceText(offer)} · ${offer.scope} · ${formatDuration(offer.duration)}` : "no offer on sale",
      ` · ${asset.sales} sale${asset.sales === 1 ? "" : "s"} · ${asset.stakers} curator${asset.stakers === 1 ? "" : "s"}`),
    asset.retired ? h("p", { class: "retired" }, "retired: no new sales") : null,
  );
}
