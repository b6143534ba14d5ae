/**
 * Where the identity provider sends a person back after sign-in, under the public URL: the
 * pages answer it, and the local stand-in and the Cognito app client register it.
 */
export const CALLBACK_PATH = "/auth/callback";
