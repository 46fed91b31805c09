// What the e2e flows read from the chain and the gateway to check a step's effect: a view call
// with the ABIs dapp/chain/abi/ holds (the ones the dApp's build exports), token balances, the
// deployment's addresses.
import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { decodeFunctionResult, encodeFunctionData, erc20Abi } from "viem";

const abiDir = join(resolve(dirname(fileURLToPath(import.meta.url)), "..", "..", ".."), "dapp", "chain", "abi");

export const abiOf = (name) => JSON.parse(readFileSync(join(abiDir, `${name}.json`), "utf8"));

/** `view(address, abi, functionName, args)`: an eth_call at the latest block, decoded. */
export function chainReader(rpc, url) {
  const view = async (address, abi, functionName, args = []) => {
    const data = encodeFunctionData({ abi, functionName, args });
    const answer = await rpc(url, "eth_call", [{ to: address, data }, "latest"]);
    if (answer.error) throw new Error(`${functionName}(${args.join(", ")}): ${answer.error.message}`);
    return decodeFunctionResult({ abi, functionName, data: answer.result });
  };
  const balanceOf = (token, account) => view(token, erc20Abi, "balanceOf", [account]);
  return { view, balanceOf };
}

/** The deployment the gateway serves: { name: { address, block } }. */
export async function deployedContracts(gateway) {
  return (await (await fetch(`${gateway}/v1/deployment`)).json()).contracts;
}
