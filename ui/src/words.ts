import type { Kind } from "./api";

export const title = (kind: Kind) => (kind === "things" ? "Things" : "Channels");
export const singular = (kind: Kind) => (kind === "things" ? "thing" : "channel");
export const other = (kind: Kind): Kind => (kind === "things" ? "channels" : "things");
