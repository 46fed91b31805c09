// Payouts: what the connected account can withdraw in each payment token (sales as an owner,
// the protocol fee as the treasury), and the withdraw transaction. Curators' rewards are
// claimed per asset on the asset page.
import type { Address } from "viem";
import { formatTokenAmount } from "../format";
import { Market } from "../market";
import { button, errorNotice, h, notice, replace, txLine } from "../ui";
import type { PageContext } from "./page";

export async function renderPayouts({ app, root, isCurrent }: PageContext): Promise<void> {
  replace(root, h("h1", {}, "Payouts"),
    h("p", { class: "muted" }, "Every sale is split on chain at once; your share waits here until you withdraw it."));
  const account = app.account as Address | null;
  if (!account) {
    root.append(notice("info", "Connect your wallet to see your payout balances."));
    return;
  }
  const list = h("section", { testid: "payouts" }, notice("info", "Reading balances…"));
  const status = txLine();
  root.append(list, status.element);
  let market: Market;
  try {
    market = new Market(app.chain());
  } catch (error) {
    replace(list, errorNotice(error));
    return;
  }
  const load = async (): Promise<void> => {
    try {
      const tokens = await market.paymentTokens();
      const balances = await Promise.all(tokens.map(async (token) => [token, await market.payoutBalance(account, token)] as const));
      if (!isCurrent()) return;
      replace(list, h("table", {},
        h("thead", {}, h("tr", {}, h("th", {}, "token"), h("th", {}, "withdrawable"), h("th", {}, ""))),
        h("tbody", {}, balances.map(([token, balance]) =>
          h("tr", { testid: "payout", "data-token": token.symbol },
            h("td", {}, token.symbol),
            h("td", { testid: "payout-balance" }, formatTokenAmount(balance, token)),
            h("td", {}, balance > 0n
              ? button(`Withdraw ${token.symbol}`, async () => {
                  const result = await market.withdraw(token, status.update);
                  if (result.phase === "confirmed") await load();
                }, { testid: "withdraw" })
              : h("span", { class: "muted" }, "nothing to withdraw")))))));
    } catch (error) {
      if (isCurrent()) replace(list, errorNotice(error));
    }
  };
  await load();
}
