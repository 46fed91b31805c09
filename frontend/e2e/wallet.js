// The test wallet, injected into the page before any script runs (page.addInitScript).
// An EIP-1193 provider announced through EIP-6963 (and set as window.ethereum) that forwards
// every request to the dev chain through window.__e2eRpc (a Playwright binding), so signing
// and sending are done by ganache for its unlocked dev accounts. It starts on a wrong chain
// id to exercise the switch, and can refuse the next request like a user pressing "Reject".
(config) => {
  const listeners = {};
  const state = { account: config.account, chainId: config.startChainId, rejectNext: false, requests: [] };
  const emit = (event, value) => (listeners[event] || []).forEach((listener) => listener(value));
  const hex = (n) => "0x" + n.toString(16);
  const rpcError = (error) => Object.assign(new Error(error.message), { code: error.code, data: error.data });
  const SIGNING = new Set(["eth_sendTransaction", "personal_sign", "eth_signTypedData_v4"]);

  const provider = {
    isE2E: true,
    async request({ method, params = [] }) {
      state.requests.push(method);
      if (method === "eth_requestAccounts" || method === "eth_accounts") return [state.account];
      if (method === "eth_chainId") return hex(state.chainId);
      if (method === "net_version") return String(state.chainId);
      if (method === "wallet_switchEthereumChain") {
        const wanted = parseInt(params[0].chainId, 16);
        if (wanted !== config.chainId) throw rpcError({ code: 4902, message: "Unrecognized chain ID" });
        state.chainId = wanted;
        emit("chainChanged", hex(wanted));
        return null;
      }
      if (method === "wallet_addEthereumChain") return null;
      if (SIGNING.has(method) && state.rejectNext) {
        state.rejectNext = false;
        throw rpcError({ code: 4001, message: "User rejected the request." });
      }
      if (state.chainId !== config.chainId && SIGNING.has(method)) {
        throw rpcError({ code: 4901, message: "wallet is on another chain" });
      }
      // dApps send the typed data as a JSON string (EIP-712 / MetaMask); ganache wants the object
      let forwarded = { method, params };
      if (method === "eth_signTypedData_v4" && typeof params[1] === "string") forwarded.params = [params[0], JSON.parse(params[1])];
      // ganache 7 has no personal_sign; its eth_sign(address, data) signs the same EIP-191 message
      if (method === "personal_sign") forwarded = { method: "eth_sign", params: [params[1], params[0]] };
      const answer = await window.__e2eRpc({ jsonrpc: "2.0", id: Date.now(), ...forwarded });
      if (answer.error) throw rpcError(answer.error);
      return answer.result;
    },
    on(event, listener) {
      (listeners[event] = listeners[event] || []).push(listener);
    },
    removeListener(event, listener) {
      listeners[event] = (listeners[event] || []).filter((l) => l !== listener);
    },
  };

  window.__e2eWallet = {
    state,
    rejectNext() {
      state.rejectNext = true;
    },
    setAccount(account) {
      state.account = account;
      emit("accountsChanged", [account]);
    },
  };
  const info = Object.freeze({
    uuid: "5f3c2b0e-8f0c-4d7b-9a52-3e2f1d0e6a11",
    name: "E2E Dev Wallet",
    icon: "data:image/svg+xml,<svg xmlns='http://www.w3.org/2000/svg' width='32' height='32'><circle cx='16' cy='16' r='14' fill='%233a5bd9'/></svg>",
    rdns: "exchange.datadao.e2e",
  });
  const announce = () =>
    window.dispatchEvent(new CustomEvent("eip6963:announceProvider", { detail: Object.freeze({ info, provider }) }));
  window.addEventListener("eip6963:requestProvider", announce);
  announce();
  window.ethereum = provider;
};
