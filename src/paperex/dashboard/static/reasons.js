// retCode -> the rule that refused, in plain words. The exchange adds the numbers (the request log's "reason",
// from the core's ApiError.reason) where it has them; otherwise the retMsg's detail fills in.
export const RULES = {
  10001: "a request parameter is missing or invalid",
  10002: "the request time is outside the receive window (timestamp vs server time)",
  10003: "the API key is invalid",
  10004: "the signature does not match the request",
  10005: "the API key lacks the permission for this endpoint",
  10006: "rate limit: too many requests on this endpoint for this UID",
  10007: "the account is frozen",
  10008: "the account is banned",
  10009: "the IP address is banned for exceeding the IP rate limit",
  10010: "the request came from an IP address the key is not bound to",
  10016: "server error (or an injected fault / a maintenance)",
  10000: "server timeout (an injected fault: the request may have been carried out)",
  10017: "this path is not served with this method",
  10027: "trading is banned for this account",
  110001: "the order does not exist (or is no longer open)",
  110003: "the limit price is outside the price band around the mark price",
  110004: "the wallet balance cannot cover the order",
  110007: "the available balance cannot cover the order's cost (initial margin + fees)",
  110012: "the available balance, after what open orders and positions hold, cannot cover the order",
  110013: "the leverage or margin settings do not allow this",
  110017: "a reduce-only order would not reduce the position",
  110020: "too many active orders on this symbol",
  110044: "the available margin cannot cover this change",
  110072: "the orderLinkId is already used",
  170131: "insufficient balance for the spot order",
};

export function explain(entry) {
  if (!entry.retCode) return "";
  if (entry.reason) return `${entry.retCode}: ${entry.reason}`;
  const rule = RULES[entry.retCode] || "";
  const colon = (entry.retMsg || "").indexOf(": ");
  const detail = colon >= 0 ? entry.retMsg.slice(colon + 2) : "";
  return `${entry.retCode}: ${[rule, detail].filter(Boolean).join(" — ") || entry.retMsg}`;
}
