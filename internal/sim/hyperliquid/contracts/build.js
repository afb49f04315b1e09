// Compiles CoreDepositWallet.sol in the folder given as argv[2] with solc-js and writes
// CoreDepositWallet.abi and CoreDepositWallet.bin next to it.
const fs = require('fs');
const path = require('path');
const solc = require('solc');
const dir = process.argv[2];
const name = 'CoreDepositWallet';
const input = {
  language: 'Solidity',
  sources: { [name + '.sol']: { content: fs.readFileSync(path.join(dir, name + '.sol'), 'utf8') } },
  settings: {
    optimizer: { enabled: true, runs: 200 },
    evmVersion: 'cancun',
    metadata: { bytecodeHash: 'none' },
    outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object'] } },
  },
};
const out = JSON.parse(solc.compile(JSON.stringify(input)));
let failed = false;
for (const e of out.errors || []) { console.error(e.formattedMessage); if (e.severity === 'error') failed = true; }
if (failed) process.exit(1);
const c = out.contracts[name + '.sol'][name];
fs.writeFileSync(path.join(dir, name + '.abi'), JSON.stringify(c.abi, null, 2) + '\n');
fs.writeFileSync(path.join(dir, name + '.bin'), c.evm.bytecode.object + '\n');
console.log('solc', solc.version());
