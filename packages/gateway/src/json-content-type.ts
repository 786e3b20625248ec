/** The content type of every JSON body the gateway writes, answers and errors alike. */
export const jsonContentType = "application/json; charset=utf-8";
