// CosmJS, as a JavaScript developer would use it, against a Merit localnet
// (tests/clients/run.sh starts it and creates subnet 1).
import { test } from "node:test";
import assert from "node:assert/strict";

import { Secp256k1HdWallet } from "@cosmjs/amino";
import { DirectSecp256k1HdWallet } from "@cosmjs/proto-signing";
import { GasPrice, QueryClient, SigningStargateClient, StargateClient } from "@cosmjs/stargate";
import { Comet38Client, connectComet, isTendermint37Client } from "@cosmjs/tendermint-rpc";

import { mnemonicOf, REST, RPC } from "./env.mjs";

const gasPrice = GasPrice.fromString("0umerit");
const rest = async (path) => {
  const res = await fetch(REST + path);
  assert.equal(res.status, 200, `GET ${path}: ${res.status}`);
  return res.json();
};

// Protobuf varint at field number `field` of a message (no generated types).
function varintField(bytes, field) {
  let i = 0;
  const varint = () => {
    let v = 0n;
    for (let shift = 0n; ; shift += 7n) {
      const b = bytes[i++];
      v |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) return v;
    }
  };
  while (i < bytes.length) {
    const key = Number(varint());
    const [num, wire] = [key >> 3, key & 7];
    if (wire === 0) {
      const v = varint();
      if (num === field) return v;
    } else if (wire === 2) {
      const len = Number(varint());
      if (num === field) return bytes.subarray(i, i + len);
      i += len;
    } else {
      throw new Error(`wire type ${wire} not handled`);
    }
  }
  return undefined;
}

const comet = await Comet38Client.connect(RPC);
const reader = StargateClient.create(comet);
const aliceWallet = await DirectSecp256k1HdWallet.fromMnemonic(mnemonicOf("alice"), { prefix: "merit" });
const [alice] = await aliceWallet.getAccounts();
const aliceClient = SigningStargateClient.createWithSigner(comet, aliceWallet, { gasPrice });

test("height over ABCI and REST", async () => {
  const h = await reader.getHeight();
  assert.ok(h > 0);
  const latest = await rest("/cosmos/base/tendermint/v1beta1/blocks/latest");
  assert.ok(BigInt(latest.block.header.height) >= BigInt(h));
  assert.equal(latest.block.header.chain_id, await reader.getChainId());
});

test("balances over ABCI and REST", async () => {
  const abci = await reader.getBalance(alice.address, "umerit");
  const viaRest = await rest(`/cosmos/bank/v1beta1/balances/${alice.address}/by_denom?denom=umerit`);
  assert.equal(viaRest.balance.amount, abci.amount);
  assert.ok(BigInt(abci.amount) > 0n);
});

test("a Merit module query over ABCI and REST", async () => {
  const q = new QueryClient(comet);
  const res = await q.queryAbci("/merit.subnet.v1.Query/Params", new Uint8Array());
  const params = varintField(res.value, 1); // QueryParamsResponse.params
  const subnetLimit = varintField(params, 1); // Params.subnet_limit
  const viaRest = await rest("/merit/subnet/v1/params");
  assert.equal(String(subnetLimit), String(viaRest.params.subnet_limit));

  const subnet = await rest("/merit/subnet/v1/subnets/1");
  assert.equal(subnet.subnet.name, "demo");
  const bySubnet = await q.queryAbci("/merit.subnet.v1.Query/Subnet", Uint8Array.of(0x08, 0x01)); // netuid 1
  const name = varintField(varintField(bySubnet.value, 1), 3); // Subnet.name
  assert.equal(new TextDecoder().decode(name), "demo");
});

// Shared by the tests below: a recipient created after genesis (a random
// 64-bit account number), the height and hash of the tx that funded it.
const fresh = { wallet: null, address: "", height: 0, hash: "" };

test("send tokens with Direct signing to a new account", async () => {
  // SDK v0.54 numbers new accounts at random; retry in the rare case the
  // draw is below 2^53, so the next test does sign with a large number.
  for (let attempt = 0; attempt < 5; attempt++) {
    const wallet = await Secp256k1HdWallet.generate(24, { prefix: "merit" });
    const [acc] = await wallet.getAccounts();
    const res = await aliceClient.sendTokens(alice.address, acc.address, [{ denom: "umerit", amount: "5000000" }], "auto", "cosmjs direct");
    assert.equal(res.code, 0, res.rawLog);
    assert.ok(res.height > 0);
    const bal = await reader.getBalance(acc.address, "umerit");
    assert.equal(bal.amount, "5000000");
    const num = BigInt((await rest(`/cosmos/auth/v1beta1/accounts/${acc.address}`)).account.account_number);
    Object.assign(fresh, { wallet, address: acc.address, height: res.height, hash: res.transactionHash });
    if (num > 2n ** 53n) return;
  }
  assert.fail("five new accounts all got account numbers below 2^53");
});

test("a new account (number > 2^53) signs with Amino", async () => {
  assert.ok(fresh.wallet, "needs the previous test");
  const acct = await reader.getAccount(fresh.address);
  const viaRest = (await rest(`/cosmos/auth/v1beta1/accounts/${fresh.address}`)).account.account_number;
  assert.equal(acct.accountNumber, BigInt(viaRest), "CosmJS keeps the 64-bit account number exactly");
  assert.ok(acct.accountNumber > 2n ** 53n);

  const client = SigningStargateClient.createWithSigner(comet, fresh.wallet, { gasPrice });
  const before = BigInt((await reader.getBalance(alice.address, "umerit")).amount);
  const res = await client.sendTokens(fresh.address, alice.address, [{ denom: "umerit", amount: "1000000" }], "auto", "cosmjs amino");
  assert.equal(res.code, 0, res.rawLog);
  const after = BigInt((await reader.getBalance(alice.address, "umerit")).amount);
  assert.equal(after - before, 1000000n);
  // The node recorded an amino-json signature.
  const tx = await rest(`/cosmos/tx/v1beta1/txs/${res.transactionHash}`);
  assert.equal(tx.tx.auth_info.signer_infos[0].mode_info.single.mode, "SIGN_MODE_LEGACY_AMINO_JSON");
});

test("block results carry the events of our tx and of the block with an explicit Comet38Client", async () => {
  assert.ok(fresh.height > 0, "needs the Direct test");
  const block = await comet.blockResults(fresh.height);
  const received = block.results
    .flatMap((tx) => tx.events)
    .filter((e) => e.type === "transfer" && e.attributes.some((a) => a.key === "recipient" && a.value === fresh.address));
  assert.equal(received.length, 1, "one transfer to the new account in its block");
  assert.ok(received[0].attributes.some((a) => a.key === "amount" && a.value === "5000000umerit"));
  // Block-level events (x/emission's issuance every block, epochs, payouts).
  assert.ok(block.finalizeBlockEvents.length > 0, "finalize_block_events");
  const tx = await reader.getTx(fresh.hash);
  assert.equal(tx.height, fresh.height);
});

test("connectComet falls back to its 0.37 client for CometBFT 0.39, which loses the block's events", async () => {
  const status = await comet.status();
  assert.match(status.nodeInfo.version, /^0\.39\./);
  const auto = await connectComet(RPC);
  try {
    assert.ok(isTendermint37Client(auto), "docs/clients.md says to build a Comet38Client: update it if this changed");
    const want = await comet.blockResults(fresh.height);
    const got = await auto.blockResults(fresh.height);
    // Per-tx events survive; finalize_block_events (0.38+) have no place in
    // the 0.37 response, whose begin/end block events come back empty.
    assert.equal(got.results.flatMap((tx) => tx.events).length, want.results.flatMap((tx) => tx.events).length);
    assert.ok(want.finalizeBlockEvents.length > 0);
    assert.equal(got.beginBlockEvents.length + got.endBlockEvents.length, 0);
  } finally {
    auto.disconnect();
  }
});

test.after(() => comet.disconnect());
