package simbinance

import (
	"errors"
	"net/http"
)

// ErrConfig reports an invalid simulator configuration.
var ErrConfig = errors.New("simbinance: invalid config")

// apiError is Binance's error body {"code":…, "msg":…} with the HTTP status it travels with.
type apiError struct {
	status int
	Code   int    `json:"code"`
	Msg    string `json:"msg"`
}

func (e *apiError) Error() string { return e.Msg }

func newErr(status, code int, msg string) *apiError {
	return &apiError{status: status, Code: code, Msg: msg}
}

// Binance's codes, as its spot and wallet error pages list them.
const (
	codeUnknown          = -1000
	codeUnauthorized     = -1002
	codeTooManyRequests  = -1003
	codeTimeout          = -1007
	codeInvalidTimestamp = -1021
	codeInvalidSignature = -1022
	codeMandatoryParam   = -1102
	codeBadPrecision     = -1111
	codeInvalidTIF       = -1115
	codeInvalidOrderType = -1116
	codeInvalidSide      = -1117
	codeBadSymbol        = -1121
	codeBadRecvWindow    = -1131
	codeFilterFailure    = -1013
	codeNewOrderRejected = -2010
	codeNoSuchOrder      = -2013
	codeBadAPIKeyFormat  = -2014
	codeRejectedAPIKey   = -2015
	// Wallet (sapi) codes.
	codeAssetUnsupported   = -4018
	codeWithdrawDisabled   = -4019
	codeWithdrawMultiple   = -4020
	codeWithdrawMin        = -4021
	codeWithdrawMax        = -4022
	codeInsufficientWallet = -4026
	codeTransferBalance    = -5002
)

func errInvalidSignature() *apiError {
	return newErr(http.StatusBadRequest, codeInvalidSignature, "Signature for this request is not valid.")
}

func errTimestamp() *apiError {
	return newErr(http.StatusBadRequest, codeInvalidTimestamp, "Timestamp for this request is outside of the recvWindow.")
}

func errTimestampAhead() *apiError {
	return newErr(http.StatusBadRequest, codeInvalidTimestamp, "Timestamp for this request was 1000ms ahead of the server's time.")
}

func errMandatory(name string) *apiError {
	return newErr(http.StatusBadRequest, codeMandatoryParam,
		"Mandatory parameter '"+name+"' was not sent, was empty/null, or malformed.")
}

func errInsufficient() *apiError {
	return newErr(http.StatusBadRequest, codeNewOrderRejected, "Account has insufficient balance for requested action.")
}

func errFilter(name string) *apiError {
	return newErr(http.StatusBadRequest, codeFilterFailure, "Filter failure: "+name)
}
