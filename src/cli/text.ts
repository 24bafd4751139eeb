// eslint-disable-next-line no-control-regex
const CONTROLS = /\u001b\[[0-9;]*m|[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

function escapeOne(char: string): string {
  return `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`;
}

/**
 * Text with its control characters made visible (`\u001b`), so that text from a handler, a flow
 * file or a store cannot move the cursor, clear the screen or restyle a terminal, nor put raw
 * escapes in a log. Tabs and line ends stay; with `keepStyles`, so do ANSI color and weight
 * sequences (`ESC[...m`), for lines the command line styles itself on a terminal.
 */
export function escapeControls(text: string, keepStyles = false): string {
  return text.replace(CONTROLS, (match) => {
    if (match.length === 1) return escapeOne(match);
    return keepStyles ? match : `${escapeOne(match[0]!)}${match.slice(1)}`;
  });
}
