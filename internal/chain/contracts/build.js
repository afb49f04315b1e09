// Compiles the contracts in the folder given as argv[2] with solc-js and writes
// <Name>.abi, <Name>.bin (creation code), <Name>.bin-runtime and
// <Name>.storage.json next to the sources.
const fs = require('fs');
const path = require('path');
const solc = require('solc');
const dir = process.argv[2];
const names = ['TestToken', 'Multicall3'];
const sources = {};
for (const n of names) sources[n + '.sol'] = { content: fs.readFileSync(path.join(dir, n + '.sol'), 'utf8') };
const input = {
  language: 'Solidity',
  sources,
  settings: {
    optimizer: { enabled: true, runs: 200 },
    evmVersion: 'cancun',
    metadata: { bytecodeHash: 'none' },
    outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object', 'evm.deployedBytecode.object', 'storageLayout'] } },
  },
};
const out = JSON.parse(solc.compile(JSON.stringify(input)));
let failed = false;
for (const e of out.errors || []) { console.error(e.formattedMessage); if (e.severity === 'error') failed = true; }
if (failed) process.exit(1);
for (const n of names) {
  const c = out.contracts[n + '.sol'][n];
  fs.writeFileSync(path.join(dir, n + '.abi'), JSON.stringify(c.abi, null, 2) + '\n');
  fs.writeFileSync(path.join(dir, n + '.bin'), c.evm.bytecode.object + '\n');
  fs.writeFileSync(path.join(dir, n + '.bin-runtime'), c.evm.deployedBytecode.object + '\n');
  const layout = c.storageLayout.storage.map(s => ({ label: s.label, slot: s.slot, offset: s.offset }));
  fs.writeFileSync(path.join(dir, n + '.storage.json'), JSON.stringify(layout, null, 2) + '\n');
}
console.log('solc', solc.version());
