// The frame: the sign-in screen while signed out, else the navigation and the current screen.

import { useEffect, useRef, useState } from "preact/hooks";
import { onChange, signOut, token } from "./session";
import { type Route, useRoute } from "./router";
import { SignIn } from "./screens/SignIn";
import { Overview } from "./screens/Overview";
import { EntityList } from "./screens/EntityList";
import { EntityPage } from "./screens/EntityPage";
import { History } from "./screens/History";
import { Bootstrap } from "./screens/Bootstrap";
import { Certs } from "./screens/Certs";

export function App() {
  const [signedIn, setSignedIn] = useState(() => token() !== null);
  const [reason, setReason] = useState<string | null>(null);
  useEffect(
    () =>
      onChange((why) => {
        setSignedIn(token() !== null);
        setReason(why);
      }),
    [],
  );
  if (!signedIn) return <SignIn notice={reason} />;
  return <Shell />;
}

const NAV: [string, string][] = [
  ["", "Overview"],
  ["things", "Things"],
  ["channels", "Channels"],
  ["bootstrap", "Bootstrap"],
  ["certs", "Certificates"],
];

function Shell() {
  const route = useRoute();
  const main = useRef<HTMLElement>(null);
  // A new screen moves focus to its content, so keyboard and screen-reader users start there.
  useEffect(() => main.current?.focus(), [route]);
  const current = sectionOf(route);
  return (
    <>
      <a class="skip" href="#main" onClick={(e) => (e.preventDefault(), main.current?.focus())}>
        Skip to content
      </a>
      <header class="top">
        <span class="brand">Ferroflux</span>
        <nav aria-label="Main">
          <ul>
            {NAV.map(([path, label]) => (
              <li key={path}>
                <a href={`#/${path}`} aria-current={current === path ? "page" : undefined}>
                  {label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <button type="button" class="secondary" onClick={() => signOut()}>
          Sign out
        </button>
      </header>
      <main id="main" ref={main} tabIndex={-1}>
        <Screen route={route} />
      </main>
    </>
  );
}

function sectionOf(route: Route): string {
  switch (route.screen) {
    case "overview":
      return "";
    case "list":
    case "entity":
    case "history":
      return route.kind;
    case "bootstrap":
    case "certs":
      return route.screen;
    default:
      return "none";
  }
}

function Screen({ route }: { route: Route }) {
  switch (route.screen) {
    case "overview":
      return <Overview />;
    case "list":
      return <EntityList key={route.kind} kind={route.kind} />;
    case "entity":
      return <EntityPage key={route.id} kind={route.kind} id={route.id} />;
    case "history":
      return <History key={route.id} kind={route.kind} id={route.id} />;
    case "bootstrap":
      return <Bootstrap />;
    case "certs":
      return <Certs />;
    case "missing":
      return (
        <section>
          <h1>Not found</h1>
          <p>
            There is no screen at <code>{route.path}</code>. <a href="#/">Back to the overview</a>.
          </p>
        </section>
      );
  }
}
