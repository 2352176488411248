// Hash routing (`#/things/…`): the server serves one page at /ui/, and every screen is a
// real link the keyboard, the back button and a bookmark all understand.

import { useEffect, useState } from "preact/hooks";

export type Route =
  | { screen: "overview" }
  | { screen: "list"; kind: "things" | "channels" }
  | { screen: "entity"; kind: "things" | "channels"; id: string }
  | { screen: "history"; kind: "things" | "channels"; id: string }
  | { screen: "bootstrap" }
  | { screen: "certs" }
  | { screen: "missing"; path: string };

export function parseRoute(hash: string): Route {
  const parts = hash.replace(/^#\/?/, "").split("/").filter(Boolean);
  const [first, id, extra] = parts;
  if (parts.length === 0) return { screen: "overview" };
  if (first === "things" || first === "channels") {
    if (!id) return { screen: "list", kind: first };
    if (!extra) return { screen: "entity", kind: first, id };
    if (extra === "history") return { screen: "history", kind: first, id };
  }
  if (first === "bootstrap" && !id) return { screen: "bootstrap" };
  if (first === "certs" && !id) return { screen: "certs" };
  return { screen: "missing", path: parts.join("/") };
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const update = () => setRoute(parseRoute(location.hash));
    window.addEventListener("hashchange", update);
    // The hash may have changed between the first render and this effect.
    update();
    return () => window.removeEventListener("hashchange", update);
  }, []);
  return route;
}

export function go(path: string): void {
  location.hash = `#/${path}`;
}
