// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

interface IERC20Like {
    function transferFrom(address from, address to, uint256 value) external returns (bool);
}

/// @title CoreDepositWallet
/// @notice A stand-in for the HyperEVM contract through which USDC enters HyperCore. The user first
/// approves this contract for `amount`, then calls deposit; the contract pulls the tokens and emits
/// Deposit, which the Hyperliquid simulator watches and credits on its HyperCore ledger. As on the
/// real venue, a plain ERC20 transfer to this address emits no Deposit and is never credited.
/// @dev destinationDex follows the real interface: type(uint32).max is the spot balance, 0 the
/// default perp dex.
contract CoreDepositWallet {
    address public immutable token;

    event Deposit(address indexed user, uint256 amount, uint32 destinationDex);

    constructor(address token_) {
        token = token_;
    }

    function deposit(uint256 amount, uint32 destinationDex) external {
        require(amount > 0, "zero amount");
        require(IERC20Like(token).transferFrom(msg.sender, address(this), amount), "transferFrom failed");
        emit Deposit(msg.sender, amount, destinationDex);
    }
}
