// First: starts the first page's API requests before the rest is evaluated.
import "./boot";
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { App } from "./App";
import { followMlflowLink } from "./router";
import "./styles.css";

// Before the first render, so that the app starts on the page the MLflow link meant.
followMlflowLink();
const root = document.getElementById("root");
if (!root) throw new Error("#root missing from index.html");
createRoot(root).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
