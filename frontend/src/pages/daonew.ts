// Create a DataDAO: name, symbol, members and their shares, the revenue token, the voting
// settings → DataDAOFactory.createDAO in one transaction, then a link to the new DAO's page.
import { decodeEventLog, type Address } from "viem";
import type { ChainContext } from "../contracts";
import { daoConfig, type DaoForm } from "../daoform";
import { runTransaction } from "../tx";
import { button, errorNotice, errorText, field, h, notice, replace, txLine } from "../ui";
import type { PageContext } from "./page";

export async function renderDaoNew(context: PageContext): Promise<void> {
  const { app, root } = context;
  replace(root, h("h1", {}, "Create a DataDAO"));
  let chain: ChainContext;
  try {
    chain = app.chain();
    chain.contract("DataDAOFactory");
  } catch (error) {
    root.append(errorNotice(error));
    return;
  }
  if (!app.account) {
    root.append(notice("info", "Connect your wallet to create a DataDAO."));
    return;
  }
  const input = (name: string, value: string, size = 12) => h("input", { name, value, size, "aria-label": name, testid: `dao-new-${name}` });
  const inputs = {
    name: input("name", "", 30),
    symbol: input("symbol", "", 8),
    members: h("textarea", { name: "members", rows: 4, cols: 60, "aria-label": "members", testid: "dao-new-members" }, `${app.account} 100`),
    revenueToken: h("select", { name: "revenue-token", "aria-label": "revenue token", testid: "dao-new-revenue-token" },
      app.paymentTokens.map((token) => h("option", { value: token.address }, token.symbol)), h("option", { value: "" }, "none")),
    votingDelay: input("voting-delay", "3600"),
    votingPeriod: input("voting-period", String(3 * 86400)),
    executionDelay: input("execution-delay", "86400"),
    proposalThreshold: input("proposal-threshold", "0"),
    quorumPercent: input("quorum", "40", 4),
  };
  const status = txLine();
  const created = h("div", { testid: "dao-created" });
  const create = async () => {
    created.replaceChildren();
    const form: DaoForm = Object.fromEntries(Object.entries(inputs).map(([key, element]) => [key, element.value])) as unknown as DaoForm;
    let config;
    try {
      config = daoConfig(form, crypto.getRandomValues(new Uint8Array(32)));
    } catch (error) {
      status.element.dataset.phase = "failed";
      status.element.textContent = errorText(error);
      return;
    }
    const factory = chain.findFunction(["DataDAOFactory"], ["createDAO"], "DataDAOFactory.createDAO");
    let dao: Address | null = null;
    const outcome = await runTransaction({
      label: `Create the DataDAO ${config.name}`,
      send: () => chain.write(factory, [config]),
      wait: async (hash) => {
        const receipt = await chain.publicClient.waitForTransactionReceipt({ hash });
        for (const log of receipt.logs) {
          try {
            const event = decodeEventLog({ abi: factory.abi, data: log.data, topics: log.topics });
            if (event.eventName === "DAOCreated") dao = (event.args as unknown as { dao: Address }).dao;
          } catch {
            // the share token's and the DAO's own events
          }
        }
        return receipt;
      },
      onUpdate: status.update,
    });
    if (outcome.phase === "confirmed" && dao) {
      replace(created, h("p", {}, `${config.name} is at `, h("code", {}, dao), ": ",
        h("a", { href: `#/dao?address=${dao}`, testid: "dao-created-link", "data-address": dao }, "open its page")));
    }
  };
  root.append(
    h("p", { class: "muted" }, "A DataDAO owns assets by its members' vote and shares their revenue by shares. Members: one a line, \"0xADDRESS SHARES\". Times are in seconds; the quorum is the percent of all shares that must vote For or Abstain."),
    h("div", { testid: "dao-new-form" },
      field("name", inputs.name), field("share symbol", inputs.symbol), field("members and shares", inputs.members),
      field("revenue token", inputs.revenueToken), field("voting delay (s)", inputs.votingDelay), field("voting period (s)", inputs.votingPeriod),
      field("execution delay (s, 0 = none)", inputs.executionDelay), field("proposal threshold (shares)", inputs.proposalThreshold),
      field("quorum (%)", inputs.quorumPercent),
      h("p", {}, button("Create the DataDAO", create, { testid: "dao-new-create" }))),
    status.element, created);
}
