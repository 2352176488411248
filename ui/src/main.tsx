import { render } from "preact";
import { App } from "./App";
import { resume } from "./session";
import "./styles.css";

resume();
render(<App />, document.getElementById("app")!);
